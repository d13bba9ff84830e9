"""`vmtop report`'s region list names a region as the table and the events do, and
`--top` takes what it prints.

Before, every anonymous region that grew was "[anon]" there, even the Java heap the
table, `watch` and `diff` call "Java heap" (the answer to "why is this JVM big?"), a
thread's stack left out the thread's name, and `--top 0` printed one row a list.

The JVM's map and what it says it reserved for its heap (jcmd VM.native_memory detail)
are a real JDK 17's, in tests/fixtures/jvm_layouts/g1_default/; the thread stack's
figures are chosen here."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import run_vmtop

from vmtop.model import kinds
from vmtop.model.classify import classify_regions
from vmtop.model.facts import ClassifyFacts
from vmtop.model.region import ProcessInfo, Region, Snapshot, Totals
from vmtop.procfs.java_facts import read_java_facts
from vmtop.procfs.parse_maps import parse_maps
from vmtop.procfs.reader import ProcFS
from vmtop.record.writer import RecordingWriter

MiB = 1 << 20
PID = 4242
JVM = Path(__file__).parent / "fixtures" / "jvm_layouts" / "g1_default"


def _java_heap_truth() -> tuple[int, int]:
    """The heap's reservation as the JVM's own NMT printed it."""
    for line in (JVM / "truth.tsv").read_text().splitlines():
        what, lo, hi = line.split("\t")
        if what == "java_heap":
            return int(lo, 16), int(hi, 16)
    raise AssertionError("no java_heap in truth.tsv")


def _jvm_regions(tmp_path: Path) -> list[Region]:
    """The JVM's map classified as vmtop classifies it live (its hsperfdata where the
    process's root would have it)."""
    pid_dir = tmp_path / "proc" / str(PID)
    pid_dir.mkdir(parents=True)
    for name in ("maps", "cmdline", "environ"):
        if (JVM / name).exists():
            shutil.copy(JVM / name, pid_dir / name)
    maps = (JVM / "maps").read_bytes()
    regions = parse_maps(maps)
    hsperf = [r.path for r in regions if "/hsperfdata_" in r.path]
    where = pid_dir / "root" / hsperf[0].lstrip("/")
    where.parent.mkdir(parents=True)
    shutil.copy(JVM / "hsperfdata", where)
    java = read_java_facts(ProcFS(str(tmp_path / "proc")), PID, {r.path for r in regions})
    return classify_regions(regions, ClassifyFacts(java=java))


def _with_rss(regions, rss_of) -> Snapshot:
    regions = tuple(r._replace(**dict.fromkeys(_FIGURES, rss_of(r))) for r in regions)
    size = sum(r.size for r in regions)
    rss = sum(r.rss for r in regions)
    info = ProcessInfo(PID, 777, "java -jar app.jar", "java", "S", 1, 1000, 1, 0)
    return Snapshot(info, 0.0, regions, Totals(size, rss, rss, rss, 0, 0), True, {"VmRSS": rss})


_FIGURES = ("rss", "pss", "private_dirty", "anonymous")


def _write(path: Path, snaps) -> str:
    with RecordingWriter(str(path), interval=1.0) as writer:
        for i, snap in enumerate(snaps):
            writer.write_sample(snap._replace(taken_at=1_700_000_000.0 + i), ())
    return str(path)


def _growth_rows(text: str) -> list[str]:
    rest = text.split("\nLargest growths by region", 1)[1].split("\n", 1)[1]
    return rest.split("\n\n", 1)[0].splitlines()


def test_the_java_heap_that_grew_is_named_so(tmp_path):
    lo, hi = _java_heap_truth()
    regions = _jvm_regions(tmp_path)
    # The committed part of the heap: the rw-p region at the reservation's start.
    heap = next(r for r in regions if r.start == lo and r.perms == "rw-p")
    assert heap.end <= hi
    before = _with_rss(regions, lambda r: 0)
    after = _with_rss(regions, lambda r: 64 * MiB if r.start == heap.start else 0)
    out = run_vmtop("report", _write(tmp_path / "jvm.jsonl.gz", [before, after]))
    assert out.returncode == 0, out.stderr
    (row,) = _growth_rows(out.stdout.decode())
    assert row.split()[0] == f"{heap.start:012x}-{heap.end:012x}"
    assert "+64M" in row
    assert row.endswith("Java heap (anon)"), row


def test_a_threads_stack_and_its_guard_say_the_threads_name(tmp_path):
    stack = Region(
        0x7F0000100000, 0x7F0000900000, "rw-p", 0, "00:00", 0, "",
        kind=kinds.THREAD_STACK, object="worker-7", tid=4300,
    )  # fmt: skip
    # The guard below it, as vmtop names a thread's guard (stacks.name_stack_guards).
    guard = Region(
        0x7F00000FF000, 0x7F0000100000, "---p", 0, "00:00", 0, "",
        kind=kinds.GUARD, object="the stack of thread 4300 (worker-7)",
    )  # fmt: skip
    before = _with_rss([stack], lambda r: 8 * 1024)
    after = _with_rss([guard, stack], lambda r: 2 * MiB if r is stack else 0)
    out = run_vmtop("report", _write(tmp_path / "t.jsonl.gz", [before, after]))
    assert out.returncode == 0, out.stderr
    grown, new = _growth_rows(out.stdout.decode())
    assert grown.endswith("[stack of thread 4300 (worker-7)]"), grown
    assert new.endswith("[guard of thread 4300 (worker-7)]"), new


def test_top_below_one_is_a_usage_error(tmp_path):
    stack = Region(0x7F0000100000, 0x7F0000900000, "rw-p", 0, "00:00", 0, "", kind=kinds.ANON)
    path = _write(tmp_path / "r.jsonl.gz", [_with_rss([stack], lambda r: 0)] * 2)
    for top in ("0", "-3"):
        out = run_vmtop("report", path, "--top", top)
        assert out.returncode == 2, (top, out.stdout)
        assert b"--top" in out.stderr and not out.stdout
