"""PostgreSQL's DSM control segment named apart from its other dynamic shared memory
(``procfs.postgres_dsm`` tells it by the postmaster's map, ``model.postgres_memory``
names it, ``postgres_words`` says it), on a recorded server
(tests/fixtures/postgres_dsm: a backend after a parallel query, its postmaster and the
postmaster's parent). Ground truth: the handle PostgreSQL keeps in its shared memory
header (``dsm_control``) and the sizes of the /dev/shm files, recorded with the trees."""

from __future__ import annotations

import json
import shutil

from conftest import FIXTURES

from vmtop.model import events as ev
from vmtop.model.diff import diff_snapshots
from vmtop.model.event_words import FAULTED_IN
from vmtop.model.events import Event
from vmtop.model.explain import why_kind
from vmtop.model.postgres_events import DSM_TOUCHED, said_in_postgres
from vmtop.model.postgres_memory import POSTGRES_DSM, POSTGRES_DSM_CONTROL
from vmtop.model.postgres_words import (
    DSM_ATTACHED,
    DSM_CONTROL_ATTACHED,
    DSM_CONTROL_DETACHED,
)
from vmtop.procfs.postgres_dsm import control_segment, read_dsm_control
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

ROOT = FIXTURES / "postgres_dsm"
TRUTH = json.loads((ROOT / "ground_truth.json").read_text())
DSM_PREFIX = "/dev/shm/PostgreSQL."
CONTROL = f"{DSM_PREFIX}{TRUTH['dsm_control_handle']}"
PAGE = 4096


def dsm_objects(root, pid: int) -> dict[str, str | None]:
    snap = take_snapshot(ProcFS(str(root)), pid)
    return {r.path: r.object for r in snap.regions if r.path.startswith(DSM_PREFIX)}


def copied_tree(tmp_path, *leave_out: int):
    root = tmp_path / "proc"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns(*map(str, leave_out)))
    return root


def test_the_backend_names_the_segment_postgresql_keeps_as_its_control_segment():
    named = dsm_objects(ROOT, TRUTH["backend"])
    # Three files: the control segment, the session's (196 KiB) and the statistics'.
    assert set(named) == set(TRUTH["backend_dsm_sizes"]) and len(named) == 3
    assert named[CONTROL] == POSTGRES_DSM_CONTROL
    assert [p for p, o in named.items() if o == POSTGRES_DSM_CONTROL] == [CONTROL]
    assert all(o == POSTGRES_DSM for p, o in named.items() if p != CONTROL)
    # What PostgreSQL wrote in it: its control header, a slot for each segment there
    # can be (64 + 5 x 42 at max_connections=20), 16 + 40 bytes a slot long.
    header = TRUTH["control_header"]
    assert header["magic"] == 0x9A503D32 and header["maxitems"] == 64 + 5 * (20 + 3 + 1 + 8 + 10)
    assert TRUTH["backend_dsm_sizes"][CONTROL] == 16 + 40 * header["maxitems"]


def test_the_postmaster_maps_only_the_control_segment_and_names_it():
    assert TRUTH["postmaster_dsm"] == [CONTROL]
    assert dsm_objects(ROOT, TRUTH["postmaster"]) == {CONTROL: POSTGRES_DSM_CONTROL}


def test_the_control_segments_region_is_its_file_in_pages_and_says_what_it_is():
    snap = take_snapshot(ProcFS(str(ROOT)), TRUTH["backend"])
    (region,) = [r for r in snap.regions if r.path == CONTROL]
    size = TRUTH["backend_dsm_sizes"][CONTROL]
    assert region.size == -(-size // PAGE) * PAGE
    words = why_kind(region)
    assert "DSM control segment" in words and "postmaster makes it at start" in words
    assert "cannot tell which" not in words


def test_without_the_postmaster_nothing_is_named_control(tmp_path):
    """A backend whose parent cannot be read: its segments keep the generic name (the
    postmaster's map is what tells, not the backend's own)."""
    assert dsm_objects(ROOT, TRUTH["backend"])[CONTROL] == POSTGRES_DSM_CONTROL
    root = copied_tree(tmp_path, TRUTH["postmaster"])
    named = dsm_objects(root, TRUTH["backend"])
    assert set(named.values()) == {POSTGRES_DSM}
    # Nor a postmaster whose parent cannot be read (it may be a backend).
    assert dsm_objects(ROOT, TRUTH["postmaster"]) == {CONTROL: POSTGRES_DSM_CONTROL}
    root = copied_tree(tmp_path / "2", TRUTH["postmaster_parent"])
    assert dsm_objects(root, TRUTH["postmaster"]) == {CONTROL: POSTGRES_DSM}


def test_a_postmaster_that_restarted_names_its_new_control_segment(tmp_path):
    """After a crash restart the postmaster makes a new control segment (a new random
    name) under the same PID and start time; what was read before does not stand."""
    root = copied_tree(tmp_path)
    assert dsm_objects(root, TRUTH["backend"])[CONTROL] == POSTGRES_DSM_CONTROL
    new = f"{DSM_PREFIX}12345"
    for pid in (TRUTH["postmaster"], TRUTH["backend"]):
        for name in ("maps", "smaps"):
            path = root / str(pid) / name
            path.write_text(path.read_text().replace(CONTROL, new))
    named = dsm_objects(root, TRUTH["backend"])
    assert named[new] == POSTGRES_DSM_CONTROL
    assert [o for o in named.values()].count(POSTGRES_DSM_CONTROL) == 1


def test_a_backend_that_lacks_the_postmasters_segment_names_none(tmp_path):
    root = copied_tree(tmp_path)
    assert dsm_objects(root, TRUTH["backend"])[CONTROL] == POSTGRES_DSM_CONTROL
    root = copied_tree(tmp_path / "2")
    maps = root / str(TRUTH["postmaster"]) / "maps"
    maps.write_text(maps.read_text().replace(CONTROL, f"{DSM_PREFIX}12345"))
    assert set(dsm_objects(root, TRUTH["backend"]).values()) == {POSTGRES_DSM}


def test_a_postmaster_mapping_more_than_one_file_tells_none():
    other = f"{DSM_PREFIX}7"
    assert control_segment(["/usr/lib/x", CONTROL]) == CONTROL
    assert control_segment([CONTROL, other]) == ""
    assert control_segment(["/dev/zero (deleted)"]) == ""


def _without(root, pid: int, path: str) -> None:
    """Take the region of ``path`` out of the copied maps and smaps of ``pid``."""
    maps = root / str(pid) / "maps"
    maps.write_text("".join(ln for ln in maps.read_text().splitlines(True) if path not in ln))
    smaps = root / str(pid) / "smaps"
    kept, skipping = [], False
    for line in smaps.read_text().splitlines(True):
        head = line.split(maxsplit=1)[0]
        if "-" in head and not head.endswith(":"):
            skipping = path in line
        if not skipping:
            kept.append(line)
    smaps.write_text("".join(kept))


def test_the_control_segment_mapped_or_unmapped_is_said_as_the_servers(tmp_path):
    """The postmaster maps a control segment anew only at start and after a crash
    restart, and unmaps it then or at shutdown: no parallel query's words."""
    root = copied_tree(tmp_path)
    before = take_snapshot(ProcFS(str(root)), TRUTH["postmaster"])
    _without(root, TRUTH["postmaster"], CONTROL)
    after = take_snapshot(ProcFS(str(root)), TRUTH["postmaster"])
    (went,) = [e for e in diff_snapshots(before, after) if e.path == CONTROL]
    assert went.event == ev.UNMAPPED and DSM_CONTROL_DETACHED in went.detail
    (came,) = [e for e in diff_snapshots(after, before) if e.path == CONTROL]
    assert came.event == ev.MAPPED and came.detail.startswith(DSM_CONTROL_ATTACHED)
    assert DSM_ATTACHED not in came.detail


def test_a_part_of_a_map_is_told_by_the_whole_postmasters():
    """Classification may hand in the paths of a part of the map (what changed): a
    lone new segment there is not the control segment, even in the postmaster."""
    procfs = ProcFS(str(ROOT))
    session = [p for p, n in TRUTH["backend_dsm_sizes"].items() if n == 196736]
    for pid in (TRUTH["backend"], TRUTH["postmaster"]):
        assert read_dsm_control(procfs, pid, session) == ""
        assert read_dsm_control(procfs, pid, [CONTROL, *session]) == CONTROL


def test_pages_of_the_control_segment_touched_are_said_as_dynamic_shared_memory():
    """Named apart, its pages touched keep the words of dynamic shared memory (other
    processes map them too: smaps' Shared_* of the recorded region)."""
    snap = take_snapshot(ProcFS(str(ROOT)), TRUTH["backend"])
    (region,) = [r for r in snap.regions if r.path == CONTROL]
    assert region.object == POSTGRES_DSM_CONTROL
    rise = Event(
        0.0, ev.RSS_CHANGED, region.start, region.end, region.kind, PAGE, PAGE,
        region.path, detail=f"{FAULTED_IN} since it was mapped: +4 KiB", object=region.object,
    )  # fmt: skip
    (said,) = said_in_postgres([rise], snap)
    assert said.detail.startswith(DSM_TOUCHED[0] + " since it was mapped" + DSM_TOUCHED[1])
    assert "mapped by other processes too" in said.detail
