"""Each demo workload under `vmtop watch --json`: the events must be what the demo says it
did, at the addresses it prints (its narration is the ground truth: sbrk(0), malloc's
return values, mmap's, its stack pointer, pthread_getattr_np).

Both versions of each demo: the C program (where a compiler is present: what vmtop runs
by default) and the Python one (the fallback). They print the same narration."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time

import pytest
from helpers_diff import Narration, covers, hexint, process_gone, span, start_watched_demo

from vmtop.demo.build import find_compiler
from vmtop.demo.runner import PYTHON, C, start_demo

pytestmark = pytest.mark.live

NO_COMPILER = find_compiler() is None
LANGUAGE = [
    pytest.param(
        C, marks=pytest.mark.skipif(NO_COMPILER, reason="no C compiler: the C demo cannot be built")
    ),
    PYTHON,
]

PAGE = os.sysconf("SC_PAGE_SIZE")
HEX = r"(0x[0-9a-f]+)"


def finish(demo, watch, *, settle: float = 0.4) -> None:
    """Let the watch take a snapshot of the last step, then stop both."""
    time.sleep(settle)
    try:
        assert watch.stop() == 0, "".join(watch.stderr)
    finally:
        demo.stop()
    assert process_gone(demo.pid)


@pytest.mark.parametrize("language", LANGUAGE)
def test_malloc_demo_heap_grows_big_blocks_are_mapped_and_unmapped_trim_shrinks(language):
    demo, narration, watch = start_watched_demo("malloc", pace=0.3, language=language)
    try:
        trim = narration.until(rf"malloc_trim\(0\) = \d+\s+heap end = {HEX}", timeout=30)
    finally:
        finish(demo, watch)

    # Heap ends the demo read with sbrk(0) right after malloc moved it with brk.
    brk_ends = [hexint(m[2]) for m in narration.matches(rf"= {HEX}\s+heap end = {HEX}\s+\(brk")]
    assert brk_ends, narration.lines
    grew = watch.of("heap_grew")
    for end in brk_ends:
        assert any(span(e)[0] < end <= span(e)[1] for e in grew), (hex(end), grew)
    assert {span(e)[1] for e in grew} & set(brk_ends), "no heap_grew ends where the demo saw it"
    assert all(e["kind"] == "heap" and e["delta"] > 0 for e in grew)

    # Each block of 1 MiB and more: its own mapping, mapped and then unmapped.
    big = [(int(m[1]), hexint(m[2])) for m in narration.matches(rf"malloc\((\d+)\) = {HEX}\s+\(at")]
    assert [size for size, _ in big] == [1 << 20, 4 << 20]
    for size, address in big:
        mapped = [e for e in watch.of("mapped") if covers(e, address, address + size)]
        assert mapped, (hex(address), watch.of("mapped"))
        assert mapped[0]["kind"] == "anon" and "mmap threshold" in mapped[0]["detail"]
        assert span(mapped[0])[1] - span(mapped[0])[0] >= size
        after = watch.events[watch.events.index(mapped[0]) :]
        assert any(
            e["event"] == "unmapped" and covers(e, address, address + size) for e in after
        ), hex(address)

    # malloc_trim: the heap now ends where sbrk(0) said, after the trim.
    trimmed_end = hexint(trim[1])
    shrank = watch.of("heap_shrank")
    assert any(span(e)[0] == trimmed_end for e in shrank), (hex(trimmed_end), shrank)


@pytest.mark.parametrize("language", LANGUAGE)
def test_mmap_demo_file_mapping_rss_climbs_then_it_is_unmapped_and_the_file_removed(language):
    size = 32 << 20
    demo, narration, watch = start_watched_demo(
        "mmap", pace=0.25, size_mib=size >> 20, language=language
    )
    try:
        mapped_line = narration.until(
            rf"mmap\((\d+), PROT_READ, MAP_PRIVATE, (.+)\) = {HEX}", timeout=20
        )
        narration.until(r"^munmap\(", timeout=30)
    finally:
        finish(demo, watch)
    assert int(mapped_line[1]) == size
    path, address = mapped_line[2], hexint(mapped_line[3])

    (mapped,) = [e for e in watch.of("mapped") if e["path"] == path]
    assert span(mapped) == (address, address + size)
    assert mapped["kind"] == "file"

    # Read in 8 steps of 4 MiB: the mapping's resident size climbs to the whole file.
    climbs = [e for e in watch.of("rss_changed") if e["path"] == path]
    assert len(climbs) >= 2, climbs
    assert all(span(e) == (address, address + size) and e["delta"] > 0 for e in climbs)
    assert 0.9 * size <= sum(e["delta"] for e in climbs) <= size

    (unmapped,) = [e for e in watch.of("unmapped") if e["path"] == path]
    assert span(unmapped) == (address, address + size)
    assert not os.path.exists(path), "the demo's file outlived the demo"
    assert not os.path.exists(os.path.dirname(path))


@pytest.mark.skipif(
    platform.machine() != "x86_64", reason="the demo reads its stack pointer on x86-64 only"
)
@pytest.mark.parametrize("language", LANGUAGE)
def test_stack_demo_stack_grows_down_past_every_new_low_stack_pointer(language):
    demo, narration, watch = start_watched_demo("stack", pace=0.12, language=language)
    try:
        narration.until(r"returned from depth 64", timeout=40)
    finally:
        finish(demo, watch)
    new_lows = [hexint(m[1]) for m in narration.matches(rf"stack pointer {HEX}.*deeper than ever")]
    assert len(new_lows) >= 10, narration.lines  # 64 levels, reported every 4
    grew = watch.of("stack_grew")
    assert grew and all(e["kind"] == "stack" and e["path"] == "[stack]" for e in grew)
    for sp in new_lows:
        assert any(covers(e, sp) for e in grew), (hex(sp), grew)
    # 64 levels of ~70 KiB frames: megabytes.
    assert sum(e["delta"] for e in grew) >= 4 << 20
    assert not watch.of("stack_shrank")
    if language == C:
        # Nothing but the lesson: no interpreter heap moving in the middle of it.
        assert not watch.of("heap_grew", "heap_shrank", "mapped", "unmapped"), watch.events


@pytest.mark.parametrize("language", LANGUAGE)
def test_threads_demo_thread_stacks_and_arenas_appear_and_stacks_are_unmapped(language):
    demo, narration, watch = start_watched_demo("threads", pace=0.25, language=language)
    try:
        narration.until(r"^thread 4 ended", timeout=30)
        narration.until(r"^-- round 2", timeout=10)
    finally:
        finish(demo, watch)
    round_1 = narration.lines[: next(i for i, t in enumerate(narration.lines) if "round 2" in t)]
    stacks = []
    arenas = []
    for line in round_1:
        if line.startswith("thread ") and " started " in line:
            lo, hi = line.split("stack ")[1].split()[0].split("-")
            stacks.append((hexint(lo), hexint(hi)))
        if "malloc(" in line:
            arenas.append(hexint(line.split(" = ")[1].split()[0]))
    assert len(stacks) == 4 and len(arenas) == 4

    mapped = watch.of("mapped")
    for lo, hi in stacks:
        assert any(covers(e, lo, hi) for e in mapped), (hex(lo), mapped)
    for address in arenas:
        assert any(covers(e, address) for e in mapped), (hex(address), mapped)
    # glibc unmaps an ended thread's stack when the next thread exits: three of four.
    # A stack unmapped with its guard is a thread_exited event; alone, unmapped.
    unmapped = watch.of("unmapped", "thread_exited")
    gone = [s for s in stacks if any(covers(e, *s) for e in unmapped)]
    assert len(gone) >= 3, (stacks, unmapped)
    if language == C:
        # The C demo joins its threads: pthread_join frees the stack then and there
        # (the narration said "when the next thread exits", of the last one too).
        assert len(gone) == 4, (stacks, unmapped)
        ended = [line for line in round_1 if " ended " in line]
        assert all("pthread_join freed it" in line for line in ended), ended


def test_a_demo_dies_with_the_process_that_started_it():
    import subprocess
    import sys

    # A parent that starts a demo and is then killed outright (no atexit, no cleanup).
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from vmtop.demo.runner import start_demo\n"
            "d = start_demo('malloc', pace=0.2)\n"
            "print(d.pid, flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        demo_pid = int(parent.stdout.readline())
        assert not process_gone(demo_pid)
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while not process_gone(demo_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process_gone(demo_pid), "the demo outlived the process that started it"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_stop_is_idempotent_and_narration_never_blocks():
    demo = start_demo("threads", pace=0.1)
    try:
        t0 = time.monotonic()
        early = demo.read_narration()  # whatever has arrived (likely nothing yet), at once
        assert isinstance(early, list) and time.monotonic() - t0 < 0.1
        first = early[0] if early else demo.wait_narration(20)  # a C demo may be that quick
        assert first.startswith(f"threads demo ({'C program' if demo.language == C else 'Python'}")
    finally:
        demo.stop()
        demo.stop()
    assert demo.poll() is not None
    assert process_gone(demo.pid)


def test_a_demo_started_from_a_short_lived_thread_lives_until_its_parent_dies():
    import subprocess
    import sys

    # PR_SET_PDEATHSIG fires when the *thread* that forked the child ends: the runner
    # forks from a thread that lives as long as the process.
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import threading, time\n"
            "from vmtop.demo.runner import start_demo\n"
            "box = []\n"
            "def starter():\n"
            "    box.append(start_demo('stack', pace=0.2))\n"
            "    box[0].wait_narration(20)  # the demo has set PR_SET_PDEATHSIG by now\n"
            "t = threading.Thread(target=starter)\n"
            "t.start(); t.join()\n"
            "print(box[0].pid, flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        demo_pid = int(parent.stdout.readline())
        time.sleep(1.0)  # the starting thread is long gone
        assert not process_gone(demo_pid), "the demo died with the thread that started it"
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while not process_gone(demo_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process_gone(demo_pid), "the demo outlived the process that started it"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_vmtop_demo_no_tui_prints_the_pid_and_narration_and_ctrl_c_exits_0():
    import signal
    import subprocess
    import sys

    vmtop = subprocess.Popen(
        [sys.executable, "-m", "vmtop", "demo", "threads", "--no-tui"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        header = vmtop.stdout.readline()
        demo_pid = int(header.split("PID ")[1].split(",")[0])
        first = vmtop.stdout.readline()
        if NO_COMPILER:
            assert "the Python version" in header
            assert first.startswith("running the Python version of the demo (no C compiler")
            first = vmtop.stdout.readline()
            assert first.startswith(f"threads demo (Python), PID {demo_pid}:")
        else:
            assert ", the C program /" in header
            program = header.split("the C program ")[1].split(". Watch")[0]
            assert os.readlink(f"/proc/{demo_pid}/exe") == program
            assert first.startswith(f"threads demo (C program), PID {demo_pid}:")
        vmtop.send_signal(signal.SIGINT)  # to vmtop alone: it stops the demo itself
        assert vmtop.wait(15) == 0
    finally:
        if vmtop.poll() is None:
            vmtop.kill()
            vmtop.wait()
    assert process_gone(demo_pid)


def test_a_killed_mmap_demo_leaves_a_directory_the_next_one_removes(tmp_path):
    """SIGKILL runs no cleanup: the next mmap demo removes what a dead demo left, and
    nothing of a demo that still runs."""
    from vmtop.demo.mmap_file import DIRECTORY_PREFIX, remove_stale_directories

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a PID that is no longer in use (reaped)
    stale = tmp_path / f"{DIRECTORY_PREFIX}{dead.pid}-abc"
    stale.mkdir()
    (stale / "data.bin").write_bytes(b"x")
    alive = tmp_path / f"{DIRECTORY_PREFIX}{os.getpid()}-def"
    alive.mkdir()
    unrelated = tmp_path / "vmtop-demo-mmap-notapid"
    unrelated.mkdir()
    assert remove_stale_directories(str(tmp_path)) == [str(stale)]
    assert not stale.exists() and alive.exists() and unrelated.exists()


def map_lines(pid: int) -> list[str]:
    with open(f"/proc/{pid}/maps") as f:
        return f.read().splitlines()


@pytest.mark.skipif(NO_COMPILER, reason="no C compiler: the C demo cannot be built")
@pytest.mark.parametrize("name", ["malloc", "mmap", "stack", "threads"])
def test_the_c_demo_map_is_a_labs_map(name):
    """The C program's map, held at its start: the program, libc, the loader, heap,
    stack and the vDSO, about 20 regions, as in the labs; the Python version's has the
    interpreter's 50 to 110 besides."""
    demo = start_demo(name, pace=0.2, start_delay=60, size_mib=8)
    try:
        first = Narration(demo).first_line()
        assert first.startswith(f"{name} demo (C program), PID {demo.pid}:"), first
        assert demo.language == C
        assert os.readlink(f"/proc/{demo.pid}/exe") == demo.program
        lines = map_lines(demo.pid)
        paths = {line.split(maxsplit=5)[5] for line in lines if len(line.split()) > 5}
    finally:
        demo.stop()
    assert 15 <= len(lines) <= 30, "\n".join(lines)
    objects = {p for p in paths if p.startswith("/")}
    assert demo.program in objects
    assert len(objects) == 3, objects  # the program, libc, the loader
    assert {"[stack]", "[vdso]"} <= paths
    assert not any("python" in p for p in paths), paths


def test_without_a_compiler_the_python_demo_runs_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # nothing built there
    monkeypatch.setenv("PATH", str(tmp_path))  # no cc, gcc or clang
    monkeypatch.delenv("CC", raising=False)
    demo = start_demo("malloc", pace=0.2, start_delay=60)
    try:
        narration = Narration(demo)
        why = narration.first_line()
        first = narration.first_line()
        lines = map_lines(demo.pid)
    finally:
        demo.stop()
    assert demo.language == PYTHON and demo.program is None
    assert why.startswith("running the Python version of the demo (no C compiler"), why
    assert first.startswith(f"malloc demo (Python), PID {demo.pid}:"), first
    assert len(lines) > 40  # the interpreter's regions: why the C version is preferred
    assert not (tmp_path / "cache" / "vmtop").exists()
