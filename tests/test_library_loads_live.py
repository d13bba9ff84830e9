"""Live: a library dlopened, then dlclosed, is one line each time in `vmtop watch`'s
text, `vmtop replay --events`, `vmtop diff REC` and the TUI's log; `watch --json` and the
recording keep every region's event.

A library built here (tests/c/dlopen_dlclose_lib.c: text, rodata, relro, data and a
4 MiB .bss) loaded by tests/c/dlopen_dlclose.c, which says "loaded" and "closed". Ground
truth: the kernel's maps of the child while the library is loaded (its file's regions
and the anonymous region right after them, the .bss), and gone after the dlclose.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time

import pytest
from conftest import C_DIR, run_vmtop, start_recording
from helpers_diff import WatchProcess, hexint, span
from test_event_floods_live import as_events, regions_of, text_lines
from test_watch_fold import watch, watched

from vmtop.commands.watch import format_size
from vmtop.model import event_runs
from vmtop.model.event_words import size_text

pytestmark = pytest.mark.live


def kernel_regions(pid: int, library: str) -> list[tuple[int, int, str]]:
    """The child's regions of ``library`` (start, end, name) and the anonymous one right
    after its last, where the loader puts the .bss."""
    regions = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split(maxsplit=5)
            start, end = (int(x, 16) for x in fields[0].split("-"))
            name = fields[5].strip() if len(fields) > 5 else ""
            if name == library or (regions and not name and start == regions[-1][1]):
                regions.append((start, end, name))
            elif regions and regions[-1][2] == "":
                break
    return regions


def spans(regions: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    return [(start, end) for start, end, _ in regions]


def built_library(tmp_path) -> str:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed: this test builds a library")
    out = tmp_path / "libvmtopload.so"
    cmd = ["gcc", "-O1", "-shared", "-fPIC", "-o", str(out), str(C_DIR / "dlopen_dlclose_lib.c")]
    subprocess.run(cmd, check=True, capture_output=True)
    return str(out)


def command(child: subprocess.Popen, word: str, answer: str) -> None:
    child.stdin.write(word + "\n")
    child.stdin.flush()
    assert child.stdout.readline().strip() == answer


def stamp(t: float) -> str:
    """A time as the text says it (vmtop.commands.watch.human_line)."""
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"


CYCLES = 3


def test_a_library_loaded_and_closed_is_a_line_each_time(compile_c, tmp_path):
    """Loaded and closed three times. A read of /proc that the dlclose (or dlopen) cut
    in two sees part of the object: its lines stay apart, so what is checked is each
    sample that saw the whole object come or go (the recording's events say which) and
    that, over all, every region is said once."""
    library = built_library(tmp_path)
    loader = compile_c("dlopen_dlclose.c", "-ldl")
    child = subprocess.Popen(
        [str(loader), library], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "ready"
    rec = tmp_path / "load.jsonl.gz"
    recorder = start_recording(child.pid, rec, 0.2)
    scripts = WatchProcess(child.pid, interval=0.2)
    scripts.wait_ready()
    text_out = open(tmp_path / "text", "w+")
    text = watch(text_out, str(child.pid), "--interval", "0.2")
    loads = []
    try:
        for _ in range(CYCLES):
            command(child, "load", "loaded")
            loads.append(kernel_regions(child.pid, library))
            time.sleep(0.8)  # the watches take a look, a few times
            command(child, "close", "closed")
            assert kernel_regions(child.pid, library) == []
            time.sleep(0.8)
    finally:
        recorder.send_signal(signal.SIGINT)
        text.send_signal(signal.SIGINT)
        recorder.wait(30)
        scripts.stop()
        out = watched(text, text_out)
        child.stdin.close()
        child.wait(20)
    # Text, rodata (two), relro, data from the file; the .bss after them, anonymous.
    loaded = loads[0]
    assert len(loaded) >= 5 and loaded[-1][2] == "" and loaded[-2][2] == library
    total = sum(end - start for start, end, _ in loaded)
    bss = loaded[-1][1] - loaded[-1][0]
    assert bss >= 4 << 20
    assert all(spans(load) == spans(loaded) for load in loads)  # (where glibc put it)
    ranges = spans(loaded)

    # --json (of the watch, and of the recording): every region's event, each time.
    records = [json.loads(r) for r in run_vmtop("replay", rec, "--events", "--json")
               .stdout.decode().splitlines()]  # fmt: skip
    for events in (scripts.events, records):
        theirs = [r for r in events if library in (r.get("path"), r.get("object"))]
        assert {r["kind"] for r in theirs} >= {"text", "rodata", "relro", "data", "bss"}
        for event in ("mapped", "unmapped"):
            said = sorted(span(r) for r in theirs if r["event"] == event)
            assert said == sorted(r for load in loads for r in spans(load)), event

    # The samples of the recording that saw the whole object come or go.
    samples: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        if library in (r.get("path"), r.get("object")):
            samples.setdefault((r["event"], stamp(r["time"])), []).append(r)
    whole = {key for key, rs in samples.items() if sorted(map(span, rs)) == ranges}
    assert {event for event, _ in whole} == {"mapped", "unmapped"}, samples.keys()

    replayed = run_vmtop("replay", rec, "--events").stdout.decode()
    between = "\n".join(
        line[2:] for line in run_vmtop("diff", rec, "--events", "all").stdout.decode().splitlines()
    )
    for said, recorded in ((out, False), (replayed, True), (between, True)):
        lines = [m for m in text_lines(said) if m["name"] == library]
        # Every region once; a whole load (unload) in one line.
        assert sum(map(regions_of, lines)) == 2 * CYCLES * len(loaded), said
        folded = [m for m in lines if regions_of(m) > 1]
        assert {m["event"] for m in folded} == {"mapped", "unmapped"}, said
        for m in folded:
            sign, how = ("+", "dlopen") if m["event"] == "mapped" else ("-", "dlclose")
            assert regions_of(m) == len(loaded)
            assert m["size"] == format_size(int(f"{sign}{total}"), signed=True)
            assert (hexint(m["start"]), hexint(m["end"])) == (loaded[0][0], loaded[-1][1])
            assert m["words"].startswith(f"{how}: text ")
            assert f"bss {size_text(bss)}" in m["words"]
        if recorded:  # each sample that saw it whole: that one line
            for event, at in whole:
                assert [m["event"] for m in lines if m["time"] == at].count(event) == 1

    # The TUI's log folds them as the text does.
    runs: list[event_runs.EventRun] = []
    event_runs.add_events(runs, as_events([r for r in records if "event" in r]), 5000)
    ours = [r for r in runs if r.event.path == library]
    assert sum(r.regions for r in ours) == 2 * CYCLES * len(loaded)
    assert {(r.event.event, r.regions) for r in ours if r.object_load} == {
        ("mapped", len(loaded)),
        ("unmapped", len(loaded)),
    }


NEEDS_SOURCES = ("dlopen_needs_a.c", "dlopen_needs_b.c")


def built_libraries_that_need(tmp_path) -> tuple[str, list[str]]:
    """libvmtopneedstop.so, which needs libvmtopneedsa.so and libvmtopneedsb.so (found
    by its RUNPATH beside it); its path and theirs."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed: this test builds libraries")
    needed = []
    for source, letter in zip(NEEDS_SOURCES, "ab", strict=True):
        out = tmp_path / f"libvmtopneeds{letter}.so"
        cmd = ["gcc", "-O1", "-shared", "-fPIC", "-o", str(out), str(C_DIR / source)]
        subprocess.run(cmd, check=True, capture_output=True)
        needed.append(str(out))
    top = tmp_path / "libvmtopneedstop.so"
    cmd = ["gcc", "-O1", "-shared", "-fPIC", "-o", str(top), str(C_DIR / "dlopen_needs_top.c"),
           f"-L{tmp_path}", "-lvmtopneedsa", "-lvmtopneedsb", "-Wl,-rpath,$ORIGIN"]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    return str(top), needed


def mapped_ranges(pid: int) -> list[tuple[int, int]]:
    with open(f"/proc/{pid}/maps") as f:
        return [tuple(int(x, 16) for x in line.split(maxsplit=1)[0].split("-")) for line in f]


def new_parts(
    regions: list[tuple[int, int, str]], before: list[tuple[int, int]]
) -> list[tuple[int, int, str]]:
    """``regions`` less what was mapped ``before``: the kernel joins a .bss to anonymous
    memory next to it that was there already (three pages of it, seen here), and what
    the load mapped is the rest."""
    parts = []
    for start, end, name in regions:
        pieces = [(start, end)]
        for lo, hi in before:
            pieces = [
                piece
                for a, b in pieces
                for piece in ((a, min(b, lo)), (max(a, hi), b))
                if piece[0] < piece[1]
            ]
        parts += [(a, b, name) for a, b in pieces]
    return parts


def readelf_needed(path: str) -> list[str]:
    """The DT_NEEDED names of ``path``, as binutils' readelf says them."""
    out = subprocess.run(["readelf", "-d", path], check=True, capture_output=True, text=True)
    return [line.rsplit("[", 1)[1].rstrip("]") for line in out.stdout.splitlines()
            if "(NEEDED)" in line]  # fmt: skip


@pytest.mark.skipif(shutil.which("readelf") is None, reason="readelf (binutils) is not installed")
def test_a_library_and_those_it_needs_are_one_line_naming_the_one_opened(compile_c, tmp_path):
    """A dlopen of a library that needs two others (readelf: its DT_NEEDED) maps the
    three in one call; dlclose unmaps them. The live watch's text reads their files: one
    line, the one opened named, "with the 2 libraries it needs". A recording has no
    files: its replay, diff and the TUI's log say one line of "3 libraries". Ground
    truth: the kernel's maps of the three while loaded, and what the loader says."""
    top, needed = built_libraries_that_need(tmp_path)
    names = [path.rsplit("/", 1)[1] for path in needed]
    assert sorted(readelf_needed(top)) == sorted(names)
    ours = [top, *needed]
    loader = compile_c("dlopen_dlclose.c", "-ldl")
    child = subprocess.Popen(
        [str(loader), top], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "ready"
    rec = tmp_path / "needs.jsonl.gz"
    recorder = start_recording(child.pid, rec, 0.2)
    text_out = open(tmp_path / "text", "w+")
    text = watch(text_out, str(child.pid), "--interval", "0.2")
    loads = []
    try:
        for _ in range(CYCLES):
            before = mapped_ranges(child.pid)
            command(child, "load", "loaded")
            loads.append({path: new_parts(kernel_regions(child.pid, path), before)
                          for path in ours})  # fmt: skip
            time.sleep(0.8)  # the watches take a look, a few times
            command(child, "close", "closed")
            assert all(kernel_regions(child.pid, path) == [] for path in ours)
            time.sleep(0.8)
    finally:
        recorder.send_signal(signal.SIGINT)
        text.send_signal(signal.SIGINT)
        recorder.wait(30)
        out = watched(text, text_out)
        child.stdin.close()
        child.wait(20)
    loaded = loads[0]
    # Each its text, data and its .bss after them (anonymous).
    assert all(len(loaded[path]) >= 5 and loaded[path][-1][2] == "" for path in ours)
    assert all(load == loaded for load in loads)  # (where the loader put them)
    regions = sum(len(rs) for rs in loaded.values())
    sizes = {path: sum(end - start for start, end, _ in loaded[path]) for path in ours}
    total = sum(sizes.values())
    low = min(start for rs in loaded.values() for start, _, _ in rs)
    high = max(end for rs in loaded.values() for _, end, _ in rs)

    def about_them(m) -> bool:
        return m["name"] in ours or m["name"] == "3 libraries"

    def whole(m, sign: str) -> bool:
        return regions_of(m) == regions and m["size"] == format_size(
            int(f"{sign}{total}"), signed=True
        )

    by_size = sorted(needed, key=lambda path: -sizes[path])
    listed = ", ".join(f"{path.rsplit('/', 1)[1]} {size_text(sizes[path])}" for path in by_size)
    # The live text: a whole load (the kernel's regions of the three, no more, no less:
    # a read in the middle of the dlopen sees part, and says it region by region) in
    # one line naming the one the loader was asked for and the two its DT_NEEDED names.
    lines = [m for m in text_lines(out) if about_them(m)]
    said = set()
    for m in lines:
        sign, how, need = (
            ("+", "dlopen", "needs") if m["event"] == "mapped" else ("-", "dlclose", "needed")
        )
        if not whole(m, sign):
            continue
        said.add(m["event"])
        assert m["name"] == top
        assert (hexint(m["start"]), hexint(m["end"])) == (low, high)
        opened = (
            f"{how} of libvmtopneedstop.so {size_text(sizes[top])} with the 2 libraries "
            f"it {need}: {listed}"
        )
        assert m["words"].partition(";")[0] == opened, m["words"]
        assert [x for x in lines if (x["time"], x["event"]) == (m["time"], m["event"])] == [m]
    assert said == {"mapped", "unmapped"}, out

    # The recording: its samples that saw the three come or go whole.
    records = [json.loads(r) for r in run_vmtop("replay", rec, "--events", "--json")
               .stdout.decode().splitlines()]  # fmt: skip
    samples: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        if r.get("path") in ours or r.get("object") in ours:
            samples.setdefault((r["event"], stamp(r["time"])), []).append(r)
    every = sorted(span for rs in loaded.values() for span in spans(rs))
    whole_samples = {key for key, rs in samples.items() if sorted(map(span, rs)) == every}
    assert {event for event, _ in whole_samples} == {"mapped", "unmapped"}, samples.keys()
    replayed = run_vmtop("replay", rec, "--events").stdout.decode()
    between = "\n".join(
        line[2:] for line in run_vmtop("diff", rec, "--events", "all").stdout.decode().splitlines()
    )
    everyone = sorted(ours, key=lambda path: -sizes[path])
    all_listed = ", ".join(
        f"{path.rsplit('/', 1)[1]} {size_text(sizes[path])}" for path in everyone
    )
    for said_text in (replayed, between):
        lines = [m for m in text_lines(said_text) if about_them(m)]
        for event, at in whole_samples:
            (m,) = [m for m in lines if m["time"] == at and m["event"] == event]
            how = "dlopen" if event == "mapped" else "dlclose"
            assert m["name"] == "3 libraries" and regions_of(m) == regions
            assert m["words"].startswith(f"{how} (a library and those it ")
            assert m["words"].partition(": ")[2].partition(";")[0] == all_listed

    # The TUI's log, from the same events: a line for each of those samples.
    runs: list[event_runs.EventRun] = []
    event_runs.add_events(runs, as_events([r for r in records if "event" in r]), 5000)
    for event, at in whole_samples:
        (run,) = [r for r in runs if (r.event.event, stamp(r.event.time)) == (event, at)
                  and r.object_load]  # fmt: skip
        assert run.objects == 3 and run.regions == regions
        assert run.event.object == "3 libraries" and run.event.size == total
