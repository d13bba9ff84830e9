"""A file mapped private and written is copied on write, and that is said.

A program writing into a MAP_PRIVATE file mapping (a library's .data written, a data
file mapped writable, code a JIT or a debugger patches) gets its own copy of each page:
smaps' Anonymous of the mapping rises. Where the page was resident (page cache) the Rss
does not move and vmtop said nothing; where it was not, the Rss rises with the copies
and vmtop said "pages faulted in", as if it were file cache. Measured on 6.18 (8 MiB of
a file on ext4): read 4 MiB, Rss +4 MiB, Anonymous 0; write 2 MiB of those, Rss flat,
Anonymous +2 MiB; write 2 MiB never touched, both +2 MiB; MADV_DONTNEED of 2 MiB of
copies, both -2 MiB.

Hand-made snapshots for the diff of two samples (watch), the drift the TUI and
recordings report, and the comparison of two moments; then live: a C child mapping a
file private and writing it on command, and one that dlopens a library with a big
.data and writes it; ground truth the kernel's smaps of the mapping.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from helpers_diff import (
    KiB,
    MiB,
    WatchProcess,
    base_regions,
    region,
    smaps_figures,
    snapshot,
)

from vmtop.model import event_runs, kinds
from vmtop.model import events as ev
from vmtop.model.columns import as_columns
from vmtop.model.diff import diff_snapshots
from vmtop.model.event_words import size_text
from vmtop.model.events import Event
from vmtop.model.file_copies import (
    COPIED_WHAT,
    DROPPED_WHAT,
    FLAT_FALL,
    FLAT_RISE,
    LESS_TOO,
    MORE_TOO,
    NOT_RESIDENT,
    PART_RESIDENT,
    CopyDrift,
)
from vmtop.model.rss_drift import RssDrift

BASE = 0x7F30_0000_0000
SIZE = 8 * MiB
DATA = "/var/lib/app/data.bin"


def block(rss: int, copies: int, *, swap: int = 0, perms: str = "rw-p", path: str = DATA):
    """The 8 MiB private mapping of a file, ``copies`` of its resident memory written
    (smaps' Anonymous)."""
    r = region(BASE, BASE + SIZE, perms, path, rss=rss)
    return r._replace(anonymous=copies, swap=swap)


def take(*blocks, at: float = 1.0, columns: bool = False):
    snap = snapshot(base_regions() + list(blocks), taken_at=at)
    return snap._replace(regions=as_columns(snap.regions)) if columns else snap


def mine(events) -> list[tuple[str, int]]:
    return [(e.event, e.delta) for e in events if BASE <= e.start < BASE + SIZE]


def copied(delta: str, now: str, rss: str = FLAT_RISE) -> str:
    return f"copied on write: {delta} of data.bin's {COPIED_WHAT}; {rss}; now {now} copied"


# -- the diff of two samples (watch) -------------------------------------------------------


def test_pages_read_then_written_are_copies_though_the_rss_is_flat():
    events = diff_snapshots(take(block(4 * MiB, 0)), take(block(4 * MiB, 2 * MiB), at=2.0))
    (event,) = events
    assert (event.event, event.delta, event.size) == (ev.COPIED_ON_WRITE, 2 * MiB, 2 * MiB)
    assert (event.start, event.end, event.path) == (BASE, BASE + SIZE, DATA)
    assert event.detail == copied("+2.0 MiB", "2.0 MiB")
    assert event.detail.startswith(
        "copied on write: +2.0 MiB of data.bin's pages are this process's own now "
        "(written: private copies of the file, no longer page cache)"
    )


def test_pages_written_cold_are_new_memory_not_file_cache():
    # The Rss rose with the copies: said by the copies, not as pages faulted in.
    before, after = take(block(4 * MiB, 2 * MiB)), take(block(6 * MiB, 4 * MiB), at=2.0)
    (event,) = diff_snapshots(before, after)
    assert (event.event, event.delta) == (ev.COPIED_ON_WRITE, 2 * MiB)
    assert event.detail == copied(
        "+2.0 MiB", "4.0 MiB", f"the Rss rose by 2.0 MiB with them{NOT_RESIDENT}"
    )
    assert "faulted in" not in event.detail


def test_pages_written_partly_resident_say_the_rss_part():
    before, after = take(block(4 * MiB, 0)), take(block(5 * MiB, 2 * MiB), at=2.0)
    (event,) = diff_snapshots(before, after)
    assert event.detail == copied(
        "+2.0 MiB", "2.0 MiB", f"the Rss rose by 1.0 MiB with them{PART_RESIDENT}"
    )


def test_copies_dropped_with_madv_dontneed():
    before, after = take(block(6 * MiB, 4 * MiB)), take(block(4 * MiB, 2 * MiB), at=2.0)
    (event,) = diff_snapshots(before, after)
    assert (event.event, event.delta) == (ev.COPIED_ON_WRITE, -2 * MiB)
    assert event.detail == (
        f"copies dropped: -2.0 MiB of data.bin's {DROPPED_WHAT}; the Rss fell by 2.0 MiB "
        "with them; now 2.0 MiB copied"
    )
    # Dropped and read back between two samples: the Rss did not move.
    (event,) = diff_snapshots(take(block(6 * MiB, 4 * MiB)), take(block(6 * MiB, 0), at=2.0))
    assert event.detail.endswith(f"; {FLAT_FALL}; now 0 B copied")


def test_file_pages_read_besides_keep_their_rss_changed():
    before, after = take(block(0, 0)), take(block(4 * MiB, MiB), at=2.0)
    events = diff_snapshots(before, after)
    assert mine(events) == [(ev.RSS_CHANGED, 4 * MiB), (ev.COPIED_ON_WRITE, MiB)]
    assert events[1].detail == copied("+1.0 MiB", "1.0 MiB", MORE_TOO)


def test_file_pages_let_go_besides_keep_their_rss_changed():
    # MADV_DONTNEED over copies and pages of the file only read: the Rss fell more.
    before, after = take(block(6 * MiB, 2 * MiB)), take(block(2 * MiB, 0), at=2.0)
    events = diff_snapshots(before, after)
    assert mine(events) == [(ev.RSS_CHANGED, -4 * MiB), (ev.COPIED_ON_WRITE, -2 * MiB)]
    assert events[1].detail == (
        f"copies dropped: -2.0 MiB of data.bin's {DROPPED_WHAT}; {LESS_TOO}; now 0 B copied"
    )


def test_copies_swapped_out_are_no_copies_dropped():
    before = take(block(4 * MiB, 2 * MiB))
    after = take(block(2 * MiB, 0, swap=2 * MiB), at=2.0)
    events = diff_snapshots(before, after)
    assert mine(events) == [(ev.RSS_CHANGED, -2 * MiB)]
    assert events[0].detail.startswith("pages swapped out")


def test_under_the_threshold_nothing_is_said():
    events = diff_snapshots(take(block(4 * MiB, 0)), take(block(4 * MiB, 60 * KiB), at=2.0))
    assert events == []


@pytest.mark.parametrize(
    "other",
    [
        region(BASE, BASE + SIZE, "rw-s", DATA, rss=4 * MiB),  # shared: writes go to the file
        region(BASE, BASE + SIZE, "rw-p", "/dev/zero", rss=4 * MiB, kind=kinds.SHM),
        region(BASE, BASE + SIZE, "rw-p", "", rss=4 * MiB),  # anonymous: no file
    ],
    ids=["shared", "dev-zero", "anonymous"],
)
def test_only_private_mappings_of_files_have_copies(other):
    before = take(other._replace(anonymous=0, rss=2 * MiB))
    after = take(other._replace(anonymous=2 * MiB, rss=2 * MiB), at=2.0)
    assert [e.event for e in diff_snapshots(before, after)] == []


def test_without_smaps_nothing_is_said():
    before = take(block(4 * MiB, 0)._replace(anonymous=None))
    after = take(block(4 * MiB, 2 * MiB)._replace(anonymous=None), at=2.0)
    assert diff_snapshots(before, after) == []


def halves(copies_low: int, copies_high: int, perms: str = "rw-p") -> list:
    """The mapping cut in two lines (mprotect of its top half: ``perms``)."""
    low = region(BASE, BASE + SIZE // 2, "rw-p", DATA, rss=2 * MiB)
    high = region(BASE + SIZE // 2, BASE + SIZE, perms, DATA, rss=2 * MiB, offset=SIZE // 2)
    return [low._replace(anonymous=copies_low), high._replace(anonymous=copies_high)]


def test_a_split_moves_no_copies():
    # mprotect cut the lines where the copies are (a JIT patching its code): nothing
    # was copied or dropped, in the diff and in the drift alike.
    before = take(block(4 * MiB, 2 * MiB))
    after = take(*halves(0, 2 * MiB, "r--p"), at=2.0)
    assert ev.COPIED_ON_WRITE not in {e.event for e in diff_snapshots(before, after)}
    drift = RssDrift(64 * KiB)
    drift.update(before)
    assert drift.update(after) == []


def test_copies_made_as_the_lines_changed_are_said_of_the_mapping():
    # mprotect cut the mapping, and 2 MiB of it was written: its lines' copies summed.
    before = take(block(4 * MiB, 0))
    after = take(*halves(0, 2 * MiB, "r--p"), at=2.0)
    (event,) = [e for e in diff_snapshots(before, after) if e.event == ev.COPIED_ON_WRITE]
    assert (event.delta, event.start, event.end) == (2 * MiB, BASE, BASE + SIZE)
    assert event.detail == copied("+2.0 MiB", "2.0 MiB")


@pytest.mark.parametrize("columns", [False, True], ids=["regions", "columns"])
def test_lines_of_one_mapping_count_together_in_the_drift(columns):
    # A page at a time, each line under the threshold: together they are copies.
    drift = CopyDrift(64 * KiB)
    assert drift.update(take(*halves(0, 0), columns=columns)) == []
    (event,) = drift.update(take(*halves(40 * KiB, 40 * KiB), at=2.0, columns=columns))
    assert (event.event, event.delta, event.start, event.end) == (
        ev.COPIED_ON_WRITE,
        80 * KiB,
        BASE,
        BASE + SIZE,
    )
    assert event.detail.startswith("copied on write: +80.0 KiB of data.bin's")


# -- the TUI's drift (and recordings) ------------------------------------------------------


@pytest.mark.parametrize("columns", [False, True], ids=["regions", "columns"])
def test_the_drift_says_copies_once_they_add_up(columns):
    drift = RssDrift(64 * KiB)
    said = []
    steps = [(4 * MiB, 0), (4 * MiB, 40 * KiB), (4 * MiB, 80 * KiB), (6 * MiB, 2 * MiB + 80 * KiB)]
    for k, (rss, copies) in enumerate(steps):
        said.append(mine(drift.update(take(block(rss, copies), at=1.0 + k, columns=columns))))
    assert said == [
        [],
        [],
        [(ev.COPIED_ON_WRITE, 80 * KiB)],
        [(ev.COPIED_ON_WRITE, 2 * MiB)],  # the Rss's rise in it: no rss_changed
    ]


@pytest.mark.parametrize("columns", [False, True], ids=["regions", "columns"])
def test_the_drift_says_the_rss_with_the_copies(columns):
    drift = RssDrift(64 * KiB)
    drift.update(take(block(4 * MiB, 0), columns=columns))
    (event,) = drift.update(take(block(6 * MiB, 2 * MiB), at=2.0, columns=columns))
    assert event.detail == copied(
        "+2.0 MiB", "2.0 MiB", f"the Rss rose by 2.0 MiB with them{NOT_RESIDENT}"
    )
    (event,) = drift.update(take(block(4 * MiB, 0), at=3.0, columns=columns))
    assert (event.event, event.delta) == (ev.COPIED_ON_WRITE, -2 * MiB)
    assert "the Rss fell by 2.0 MiB with them" in event.detail


def test_a_mapping_new_since_counts_from_its_first_figure_where_its_event_said_it():
    drift = RssDrift(64 * KiB)
    drift.update(take())
    # Mapped with 2 MiB of copies (a dlopen's relocations): its mapped event said what
    # was resident; nothing more.
    assert drift.update(take(block(2 * MiB, 2 * MiB), at=2.0), {BASE}) == []
    # Mapped on a read of maps alone, its copies first read now: since it was mapped.
    drift = CopyDrift(64 * KiB)
    drift.update(take())
    (event,) = drift.update(take(block(2 * MiB, 2 * MiB), at=2.0), set())
    assert "since it was mapped" in event.detail


def test_the_drift_keeps_one_number_per_mapping_with_copies():
    drift = CopyDrift(64 * KiB)
    drift.update(take(block(4 * MiB, 0)))
    assert len(drift) == 0
    drift.update(take(block(4 * MiB, 2 * MiB), at=2.0))
    assert len(drift) == 1
    drift.update(take(at=3.0))  # unmapped: forgotten
    assert len(drift) == 0


# -- what else says it -----------------------------------------------------------------------


def test_comparing_two_moments_says_the_copies():
    from vmtop.model.moments import net_change

    items = net_change(take(block(4 * MiB, 0)), take(block(4 * MiB, 2 * MiB), at=2.0))
    (item,) = [i for i in items if i.event == ev.COPIED_ON_WRITE]
    assert item.delta == 2 * MiB
    assert (
        item.detail == "private copies of the file's pages (written: copy-on-write) 0 B -> 2.0 MiB"
    )


def test_watch_diff_the_log_and_help_name_it():
    from vmtop.commands.diff_lines import net_parts
    from vmtop.commands.watch import event_record, human_line
    from vmtop.tui.theme import EVENT_PALETTE, FALLBACK_EVENT
    from vmtop.tui.widgets.event_log import event_segments

    event = diff_snapshots(take(block(4 * MiB, 0)), take(block(4 * MiB, 2 * MiB), at=2.0))[0]
    assert "copied_on_write" in human_line(event)
    assert "copies +2.0 MiB" in human_line(event)
    assert event_record(event)["event"] == "copied_on_write"
    assert net_parts([event]) == ["1 copied on write (+2.0M)"]
    assert EVENT_PALETTE[ev.COPIED_ON_WRITE] != FALLBACK_EVENT
    assert "MAP_PRIVATE" in ev.EVENT_DESCRIPTIONS[ev.COPIED_ON_WRITE]
    line = "".join(segment.text for segment in event_segments(event))
    assert line.startswith("copied_on_write") and "+2.0M" in line and DATA in line
    # Written a sample after the other, the same region: one line of the log.
    runs: list = []
    event_runs.add_events(runs, [event, event._replace(time=3.0)], 100)
    assert [(r.count, r.event.delta) for r in runs] == [(2, 4 * MiB)]


def copies_in(start: int, delta: int, when: float = 2.0) -> Event:
    r = region(start, start + MiB, "r-xp", DATA, rss=MiB, kind=kinds.TEXT)
    return diff_snapshots(
        take(r._replace(anonymous=0), at=when - 1), take(r._replace(anonymous=delta), at=when)
    )[0]


def test_many_regions_of_one_file_copied_in_one_sample_are_one_line():
    # A JIT patching code in many regions of one object at once.
    events = [copies_in(BASE + k * 2 * MiB, 128 * KiB) for k in range(5)]
    (line,) = event_runs.sample_lines(events)
    assert (line.count, event_runs.regions(line)) == (5, 5)
    assert (line.event.delta, line.event.start) == (5 * 128 * KiB, BASE)
    assert line.event.detail == (
        f"copied on write: +640.0 KiB of data.bin's {COPIED_WHAT}, in 5 regions; {FLAT_RISE}"
    )
    # In the log too, and a later change of one of them is a line of its own.
    runs: list = []
    event_runs.add_events(runs, events, 100)
    event_runs.add_events(runs, [copies_in(BASE, 128 * KiB, when=3.0)], 100)
    assert [(event_runs.regions(r), r.count) for r in runs] == [(5, 5), (1, 1)]
    # Two stay lines of their own.
    assert len(event_runs.sample_lines(events[:2])) == 2


# -- live ------------------------------------------------------------------------------------


def copies_figures(pid: int, address: int) -> dict[str, int]:
    """The kernel's Rss and Anonymous of the mapping at ``address``: the ground truth."""
    return smaps_figures(pid, address, "Rss", "Anonymous")


class Writer:
    """The C child of tests/c/private_file_writes.c on an 8 MiB file, a word at a time,
    watched by `vmtop watch --json` and by the TUI's sampler."""

    def __init__(self, compile_c, tmp_path) -> None:
        from helpers_elf import C_DIR

        from vmtop.procfs.reader import ProcFS
        from vmtop.tui.sampler import Sampler

        data = tmp_path / "data.bin"
        data.write_bytes(bytes(range(256)) * (SIZE // 256))
        exe = compile_c(C_DIR / "private_file_writes.c")
        self.proc = subprocess.Popen(
            [str(exe), str(data)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            bufsize=1,
        )  # fmt: skip
        self.address = int(self.proc.stdout.readline(), 16)
        self.watch = WatchProcess(self.proc.pid, interval=0.2)
        self.watch.wait_ready()
        self.sampler = Sampler(ProcFS(), self.proc.pid)
        self.sampler.sample()
        time.sleep(0.3)
        self.sampler.sample()  # (the first read maps only)

    def command(self, word: str) -> tuple[dict[str, int], list[tuple], list[tuple]]:
        """Do ``word``: the kernel's figures then, and what the watch and the TUI said
        of the mapping meanwhile, as (event, delta, detail)."""
        seen = len(self.watch.events)
        self.proc.stdin.write(word + "\n")
        assert self.proc.stdout.readline().strip() == f"ok {word}"
        figures = copies_figures(self.proc.pid, self.address)
        time.sleep(0.8)
        start = f"{self.address:#x}"
        watched = [
            (e["event"], e["delta"], e.get("detail", ""))
            for e in self.watch.events[seen:] if e["start"] == start
        ]  # fmt: skip
        tui = [
            (e.event, e.delta, e.detail)
            for e in self.sampler.sample().events if e.start == self.address
        ]  # fmt: skip
        return figures, watched, tui

    def close(self) -> None:
        self.watch.stop()
        self.proc.kill()
        self.proc.wait()


THRESHOLD = 64 * KiB


def said(events: list[tuple], truth: int, exact: bool) -> set[str]:
    """The event names of a step, their deltas summed checked against ``truth``. A
    sample of the watch can come in the middle of a step: it compares two samples, and
    a part under the threshold is not said (``exact``: the TUI's drift adds it up)."""
    total = sum(e[1] for e in events)
    assert total == truth if exact else 0 <= abs(truth) - abs(total) < THRESHOLD
    return {e[0] for e in events}


@pytest.mark.live
def test_a_file_mapped_private_and_written_is_said_with_the_kernels_anonymous(compile_c, tmp_path):
    writer = Writer(compile_c, tmp_path)
    try:
        start = copies_figures(writer.proc.pid, writer.address)
        read, *read_said = writer.command("read")
        written, *written_said = writer.command("write")
        cold, *cold_said = writer.command("cold")
        dropped, *dropped_said = writer.command("drop")
    finally:
        writer.close()
    # Ground truth: reading maps page cache; writing it copies with the Rss flat;
    # writing pages never touched copies with the Rss rising as much; dropping them
    # takes both down.
    assert (start["Rss"], start["Anonymous"]) == (0, 0)
    assert (read["Rss"], read["Anonymous"]) == (4 * MiB, 0)
    assert (written["Rss"], written["Anonymous"]) == (4 * MiB, 2 * MiB)
    assert cold["Rss"] - written["Rss"] == cold["Anonymous"] - written["Anonymous"] == 2 * MiB
    assert dropped["Anonymous"] - cold["Anonymous"] == dropped["Rss"] - cold["Rss"] == -2 * MiB
    for where, exact in ((0, False), (1, True)):  # the watch's, then the TUI's
        rss = read["Rss"] - start["Rss"]
        assert said(read_said[where], rss, exact) == {ev.RSS_CHANGED}
        copies = written["Anonymous"] - read["Anonymous"]
        assert said(written_said[where], copies, exact) == {ev.COPIED_ON_WRITE}
        now = read["Anonymous"]
        for _, delta, detail in written_said[where]:
            now += delta
            assert detail == copied(f"+{size_text(delta)}", size_text(now))
        copies = cold["Anonymous"] - written["Anonymous"]
        assert said(cold_said[where], copies, exact) == {ev.COPIED_ON_WRITE}
        for _, delta, detail in cold_said[where]:
            assert f"the Rss rose by {size_text(delta)} with them{NOT_RESIDENT}" in detail
        copies = dropped["Anonymous"] - cold["Anonymous"]
        assert said(dropped_said[where], copies, exact) == {ev.COPIED_ON_WRITE}
        for _, delta, detail in dropped_said[where]:
            assert detail.startswith(f"copies dropped: {size_text(delta)} of data.bin's")
            assert f"the Rss fell by {size_text(-delta)} with them" in detail


@pytest.mark.live
def test_a_recording_replays_and_compares_the_copies(compile_c, tmp_path):
    import json
    import signal

    from helpers_diff import VMTOP
    from helpers_elf import C_DIR

    data = tmp_path / "data.bin"
    data.write_bytes(bytes(range(256)) * (SIZE // 256))
    child = subprocess.Popen(
        [str(compile_c(C_DIR / "private_file_writes.c")), str(data)], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True, bufsize=1,
    )  # fmt: skip
    address = int(child.stdout.readline(), 16)
    recording = tmp_path / "rec.jsonl.gz"
    record = subprocess.Popen(
        [*VMTOP, "record", str(child.pid), "-o", str(recording), "--interval", "0.2"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert "vmtop: recording" in record.stderr.readline()  # (its first sample taken)
        time.sleep(0.5)
        for word in ("read", "write"):
            child.stdin.write(word + "\n")
            assert child.stdout.readline().strip() == f"ok {word}"
            time.sleep(0.8)
        truth = copies_figures(child.pid, address)["Anonymous"]
    finally:
        record.send_signal(signal.SIGINT)
        record.wait(20)
        child.kill()
        child.wait()
    assert truth == 2 * MiB  # (the kernel's: the pages written, copied)

    def vmtop_out(*args: str, status: int = 0) -> str:
        done = subprocess.run([*VMTOP, *args], capture_output=True, text=True)
        assert done.returncode == status, done.stderr
        return done.stdout

    start = f"{address:#x}"
    replayed = [
        json.loads(line)
        for line in vmtop_out("replay", str(recording), "--events", "--json").splitlines()
    ]
    copies = [e for e in replayed if e.get("event") == "copied_on_write" and e["start"] == start]
    assert sum(e["delta"] for e in copies) == truth
    # (diff's status as diff(1)'s: 1, something changed)
    compared = json.loads(vmtop_out("diff", str(recording), "--json", status=1))
    (change,) = [e for e in compared["changes"] if e["event"] == "copied_on_write"]
    assert (change["start"], change["delta"]) == (start, truth)
    assert "1 copied on write (+2.0M)" in vmtop_out("diff", str(recording), status=1)


LIBRARY = """
char big_data[4 << 20] = {1};  /* initialised: in .data, the library's file */
"""


@pytest.mark.live
def test_a_dlopened_librarys_data_written_is_copied_on_write(compile_c, tmp_path):
    from helpers_elf import C_DIR

    source = tmp_path / "bigdata.c"
    source.write_text(LIBRARY)
    library = tmp_path / "libbigdata.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    exe = compile_c(C_DIR / "dlopen_big_data.c", "-ldl")
    proc = subprocess.Popen(
        [str(exe), str(library), "big_data", str(4 << 20)], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True, bufsize=1,
    )  # fmt: skip
    watch = None
    try:
        assert proc.stdout.readline().strip() == "ready"
        watch = WatchProcess(proc.pid, interval=0.2)
        watch.wait_ready()
        proc.stdin.write("load\n")
        data = int(proc.stdout.readline().split()[1], 16)
        time.sleep(0.8)
        mapping = _region_of(proc.pid, data)
        loaded = smaps_figures(proc.pid, mapping, "Rss", "Anonymous")
        proc.stdin.write("write\n")
        assert proc.stdout.readline().strip() == "ok write"
        written = smaps_figures(proc.pid, mapping, "Rss", "Anonymous")
        time.sleep(0.8)
    finally:
        if watch is not None:
            watch.stop()
        proc.kill()
        proc.wait()
    copies = written["Anonymous"] - loaded["Anonymous"]
    assert copies >= 4 * MiB - 8 * KiB  # (the kernel's: a page or two copied at load)
    # Most of the library's pages were not resident here (the loader's reads mapped a
    # few): the Rss rose with the copies.
    rose = written["Rss"] - loaded["Rss"]
    assert copies - 256 * KiB <= rose <= copies
    events = [
        e for e in watch.of("copied_on_write", "rss_changed") if e["start"] == f"{mapping:#x}"
    ]
    assert {(e["event"], e["path"]) for e in events} == {("copied_on_write", str(library))}
    said([(e["event"], e["delta"]) for e in events], copies, exact=False)
    for e in events:
        delta = size_text(e["delta"])
        assert e["detail"].startswith(f"copied on write: +{delta} of libbigdata.so's pages")
        assert "; the Rss rose by " in e["detail"] and " with them: " in e["detail"]
    if len(events) == 1:  # (not cut by a sample)
        assert f"the Rss rose by {size_text(rose)} with them" in events[0]["detail"]


def _region_of(pid: int, address: int) -> int:
    """The start of the region of ``pid`` holding ``address`` (from its maps)."""
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            if lo <= address < hi:
                return lo
    raise AssertionError(f"{address:#x} is not mapped")


def test_the_event_screen_says_how_many_regions_were_copied():
    from vmtop.tui.screens.event_detail import event_text

    events = [copies_in(BASE + k * 2 * MiB, 128 * KiB) for k in range(3)]
    (line,) = event_runs.sample_lines(events)
    text = event_text(line.event, line).plain
    assert "3 regions copied on write alike in this sample" in text
