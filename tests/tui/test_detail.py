"""Region detail on the fixture tree and on a live child whose pages the test controls."""

from __future__ import annotations

import shutil

import pytest
from textual.app import App

from vmtop.procfs.reader import ProcFS
from vmtop.procfs.smaps_blocks import region_fields
from vmtop.procfs.snapshot import take_snapshot
from vmtop.tui.screens.detail import RegionDetailScreen
from vmtop.tui.screens.detail_panels import spell_perms

from .conftest import TUI_PROC, rendered_text, settle

# proc.rst's VmFlags table, for the codes the fixture heap carries.
PROC_RST_WORDS = {
    "rd": "readable",
    "wr": "writeable",
    "mr": "may read",
    "mw": "may write",
    "me": "may execute",
    "ac": "area is accountable",
}


class DetailApp(App):
    def __init__(self, screen: RegionDetailScreen) -> None:
        super().__init__()
        self.detail = screen

    def on_mount(self) -> None:
        self.push_screen(self.detail)


def heap_block_fields() -> list[str]:
    """Field names of the [heap] block of 4242/smaps, read straight from the file."""
    lines = (TUI_PROC / "4242" / "smaps").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.endswith("[heap]"))
    names = []
    for line in lines[start + 1 :]:
        name = line.split(":", 1)[0]
        if name == "VmFlags":
            break
        names.append(name)
    return names


def open_detail(procfs, pid, pick, **kwargs):
    snapshot = take_snapshot(procfs, pid)
    region = next(r for r in snapshot.regions if pick(r))
    return (
        snapshot,
        region,
        RegionDetailScreen(
            procfs=procfs, snapshot=snapshot, region=region, rss_history=[], **kwargs
        ),
    )


async def test_heap_detail_lists_every_smaps_field_with_meaning(fixture_procfs):
    snapshot, region, screen = open_detail(fixture_procfs, 4242, lambda r: r.path == "[heap]")
    app = DetailApp(screen)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        fields = rendered_text(screen.query_one("#detail-fields"), width=140)
        expected = heap_block_fields()
        assert len(expected) >= 20
        for name in expected:
            assert name in fields, name
        assert "no description" not in fields
        # The heap's Rss line in the file is "Rss: 72 kB": shown in human units.
        assert "Rss" in fields and " 72K " in fields
        flags = rendered_text(screen.query_one("#detail-flags"))
        heap_flags = (TUI_PROC / "4242" / "smaps").read_text().split("[heap]")[1]
        codes = heap_flags.split("VmFlags:")[1].splitlines()[0].split()
        assert codes == ["rd", "wr", "mr", "mw", "me", "ac"]
        for code in codes:
            assert PROC_RST_WORDS[code] in flags
        identity = rendered_text(screen.query_one("#detail-identity"))
        assert "0x555d59066000 – 0x555d59087000" in identity
        assert "132K (135,168 bytes)" in identity  # 0x21000 bytes
        assert "read, write; private (copy-on-write)" in identity
        assert "[heap]" in identity and "heap" in identity
        pages = rendered_text(screen.query_one("#detail-pages"))
        assert "pagemap not available" in pages
        sections = rendered_text(screen.query_one("#detail-sections"))
        assert sections.strip()  # an answer (none / not available), never "looking up…"
        assert "looking up" not in sections


async def test_a_snapshot_without_its_smaps_text_reads_the_fields_when_opened(fixture_procfs):
    """Huge snapshots are compacted (their text dropped): the detail reads its block."""
    snapshot = take_snapshot(fixture_procfs, 4242).compact()
    region = next(r for r in snapshot.regions if r.path == "[heap]")
    assert region_fields(snapshot, region) == {}
    screen = RegionDetailScreen(
        procfs=fixture_procfs, snapshot=snapshot, region=region, rss_history=[]
    )
    async with DetailApp(screen).run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        for _ in range(50):
            if screen.fields:
                break
            await pilot.pause(0.05)
        fields = rendered_text(screen.query_one("#detail-fields"), width=140)
        for name in heap_block_fields():
            assert name in fields, name
        assert "Rss" in fields and " 72K " in fields


async def test_unknown_smaps_field_and_flag_are_kept(tmp_path):
    tree = tmp_path / "proc"
    shutil.copytree(TUI_PROC / "4242", tree / "4242")
    smaps = (tree / "4242" / "smaps").read_bytes()
    at = smaps.index(b"[heap]")
    flags_at = smaps.index(b"VmFlags: rd wr mr mw me ac", at)
    smaps = (
        smaps[:flags_at]
        + b"FutureThing:          12 kB\n"
        + b"VmFlags: rd wr mr mw me ac zz"
        + smaps[flags_at + len(b"VmFlags: rd wr mr mw me ac") :]
    )
    (tree / "4242" / "smaps").write_bytes(smaps)
    _, _, screen = open_detail(ProcFS(str(tree)), 4242, lambda r: r.path == "[heap]")
    app = DetailApp(screen)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        fields = rendered_text(screen.query_one("#detail-fields"), width=160)
        line = next(line for line in fields.splitlines() if "FutureThing" in line)
        assert "12K" in line and "(no description: newer kernel field)" in line
        flags = rendered_text(screen.query_one("#detail-flags"))
        assert "zz" in flags and "unknown flag" in flags


async def test_escape_and_q_go_back(fixture_procfs):
    _, _, screen = open_detail(fixture_procfs, 4242, lambda r: r.path == "[heap]")
    app = DetailApp(screen)
    async with app.run_test(size=(160, 48)) as pilot:
        assert app.screen is screen
        await pilot.press("escape")
        assert app.screen is not screen
    _, _, screen = open_detail(fixture_procfs, 4242, lambda r: r.path == "[heap]")
    app = DetailApp(screen)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("q")
        assert app.screen is not screen


async def test_rss_history_is_drawn(fixture_procfs):
    snapshot = take_snapshot(fixture_procfs, 4242)
    region = next(r for r in snapshot.regions if r.path == "[heap]")
    history = [(100.0 + i, 4096 * (i + 1)) for i in range(18)]  # 4K .. 72K over 17 s
    screen = RegionDetailScreen(
        procfs=fixture_procfs, snapshot=snapshot, region=region, rss_history=history
    )
    app = DetailApp(screen)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        widget = screen.query_one("#detail-history")
        if hasattr(widget, "content"):  # the built-in sparkline
            lines = rendered_text(widget)
        else:  # the process screen's RssGraph (Line API)
            rows = range(widget.size.height)
            lines = "\n".join("".join(s.text for s in widget.render_line(y)) for y in rows)
        assert "72K" in lines and "4.0K" in lines and "17" in lines


def test_perms_spelled_out():
    assert spell_perms("r-xp") == "r-xp: read, execute; private (copy-on-write)"
    assert spell_perms("rw-s") == "rw-s: read, write; shared"
    assert spell_perms("---p") == "---p: no access; private (copy-on-write)"


CHILD = r"""
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    long page = sysconf(_SC_PAGESIZE);
    /* 300 private anonymous pages, 40 of them touched: 0..29 and 290..299. */
    char *p = mmap(NULL, 300 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 30; i++) p[i * page] = 1;
    for (int i = 290; i < 300; i++) p[i * page] = 1;
    printf("%lx\n", (unsigned long)p);
    fflush(stdout);
    pause();
    return 0;
}
"""


@pytest.mark.live
async def test_page_strip_counts_a_live_childs_pages(compile_c, spawn):
    exe = compile_c(CHILD)
    child = spawn([exe])
    start = int(child.read_line(), 16)
    procfs = ProcFS()
    snapshot = take_snapshot(procfs, child.pid)
    region = snapshot.region_at(start)
    assert region is not None
    # The kernel may merge the mapping with a neighbour; the strip covers the region.
    screen = RegionDetailScreen(
        procfs=procfs, snapshot=snapshot, region=region, rss_history=[], live=False
    )
    app = DetailApp(screen)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        text = rendered_text(screen.query_one("#detail-pages"), width=300)
        pages = region.size // 4096
        extra_present = (region.rss or 0) // 4096 - 40  # merged neighbour's own pages
        assert f"{pages:,} pages of 4.0K" in text
        kernel_line = next(line for line in text.splitlines() if "kernel bits" in line)
        assert f"present {40 + extra_present:,}" in kernel_line
        assert f"not present {pages - 40 - extra_present:,}" in kernel_line
        if region.start == start and region.size == 300 * 4096:
            assert "present 40 " in kernel_line + " "
            assert "(40 exclusive)" in kernel_line
        # "r" re-reads: still the same figures.
        await pilot.press("r")
        await settle(pilot)
        assert rendered_text(screen.query_one("#detail-pages"), width=300).count("kernel bits") == 1


@pytest.mark.live
async def test_vsyscall_page_strip_says_outside_user_space():
    import os

    procfs = ProcFS()
    snapshot = take_snapshot(procfs, os.getpid())
    region = next((r for r in snapshot.regions if r.path == "[vsyscall]"), None)
    if region is None:
        pytest.skip("this kernel maps no [vsyscall]")
    screen = RegionDetailScreen(
        procfs=procfs, snapshot=snapshot, region=region, rss_history=[], live=False
    )
    app = DetailApp(screen)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        text = rendered_text(screen.query_one("#detail-pages"))
        assert "outside user space" in text


# -- following the region while the process runs (on the process screen's fixture) --------


async def test_detail_follows_its_region_live_and_says_when_it_is_gone(tmp_path):
    from .test_process_screen import HEAP, ScreenApp, copy_fixture, grow_heap, remove_region

    root = copy_fixture(tmp_path)
    app = ScreenApp(root)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        process = app.screen
        table = process.query_one("RegionTable")
        heap = next(r for r in table.rows if r.path == "[heap]")
        table.select_region(heap)
        await pilot.press("enter")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, RegionDetailScreen)
        status = str(detail.query_one("#detail-status").content)
        assert "smaps read 22:13:20" in status

        def rss_line() -> str:
            fields = rendered_text(detail.query_one("#detail-fields"), width=140)
            return next(line for line in fields.splitlines() if line.split()[:1] == ["Rss"])

        assert " 72K " in rss_line()
        # The heap's resident size grows: the open detail shows it at the next sample.
        grow_heap(root, HEAP, HEAP[1], rss_kb=120)
        app.clock.now += 1
        process.action_step()
        await settle(pilot)
        assert " 120K " in rss_line()
        assert "smaps read 22:13:21" in str(detail.query_one("#detail-status").content)
        # brk moves its end: the same heap, changed, followed to its new range.
        new_end = HEAP[1] + 0x21000
        grow_heap(root, HEAP, new_end, rss_kb=150)
        app.clock.now += 1
        process.action_step()
        await settle(pilot)
        status = str(detail.query_one("#detail-status").content)
        assert "changed: range" in status and f"{new_end:#x}" in status
        assert f"{new_end:#x}" in rendered_text(detail.query_one("#detail-identity"))
        assert " 150K " in rss_line()
        # Unmapped: said, and the last figures stay.
        remove_region(root, HEAP[0])
        app.clock.now += 1
        process.action_step()
        await settle(pilot)
        status = str(detail.query_one("#detail-status").content)
        assert "unmapped" in status and "22:13:23" in status
        assert " 150K " in rss_line()
        assert detail._timer is None  # its pages are no longer read


async def test_page_strip_legend_and_kernel_bits_agree_for_a_shared_page(
    fixture_procfs, monkeypatch
):
    """A file page mapped only here carries both the file/shared and exclusive bits: the
    legend counts it once, as file/shared, and the kernel-bits line says the same."""
    from vmtop.procfs import pagemap as pm

    _, region, screen = open_detail(fixture_procfs, 4242, lambda r: r.path == "[heap]")
    pages = region.size // 4096
    file_only_here = pm.PRESENT | pm.FILE_SHARED | pm.EXCLUSIVE
    file_shared = pm.PRESENT | pm.FILE_SHARED
    anon_only_here = pm.PRESENT | pm.EXCLUSIVE
    anon_shared = pm.PRESENT
    entries = [file_only_here, file_shared, anon_only_here, anon_shared, pm.SWAPPED]
    entries += [0] * (pages - len(entries))
    monkeypatch.setattr(pm, "read_pagemap", lambda procfs, pid, start, end: list(entries))
    async with DetailApp(screen).run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        text = rendered_text(screen.query_one("#detail-pages"), width=300)
        legend = {}
        for line in text.splitlines():
            parts = line.split(None, 2)
            if len(parts) == 3 and parts[1].replace(",", "").isdigit():
                legend[parts[2]] = int(parts[1].replace(",", ""))
        file_line = next(v for k, v in legend.items() if k.startswith("present, file"))
        only_here = next(v for k, v in legend.items() if "mapped only here" in k)
        shared_anon = next(v for k, v in legend.items() if "shared with another" in k)
        assert (file_line, only_here, shared_anon) == (2, 1, 1)
        bits = next(line for line in text.splitlines() if line.startswith("kernel bits"))
        assert "present 4 = file/shared 2 (1 of them mapped only here)" in bits
        assert "anonymous 2 (1 exclusive)" in bits
        assert "swapped 1" in bits and f"not present {pages - 5}" in bits


# -- following the memory opened through a merge and a split (hand-made samples) -------


def graph_title(screen: RegionDetailScreen) -> str:
    widget = screen.query_one("#detail-history")
    return "".join(s.text for s in widget.render_line(0))


async def test_detail_follows_the_opened_memory_through_a_merge_and_a_split(tmp_path):
    """A is opened; B is mapped below it and merged; mprotect splits B | A[0:64K] | A[64K:];
    A is unmapped. The history is never a mix that is not said, its max never exceeds
    the region, and A's unmapping is reported (not B's, later)."""
    from .test_region_follow import A_HEAD, A_TAIL, MERGED, A, B, MiB, snap

    def at(t: float, *regions):
        return snap(*regions)._replace(taken_at=t, has_smaps=False)

    screen = RegionDetailScreen(
        procfs=ProcFS(str(tmp_path)),
        snapshot=at(100.0, A),
        region=A,
        rss_history=[(99.0, 30 * MiB), (100.0, 32 * MiB)],
    )
    async with DetailApp(screen).run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        note = screen.query_one("#detail-history-note")
        assert not note.display
        # Merged: the process files the merged region's history under its new start.
        screen.follow(at(101.0, MERGED), [(101.0, 132 * MiB)], smaps_at=101.0)
        await settle(pilot)
        assert screen.memory_region == MERGED
        assert screen.rss_history == [(99.0, 30 * MiB), (100.0, 32 * MiB), (101.0, 132 * MiB)]
        said = rendered_text(note)
        assert note.display and "merged" in said and f"{B.start:#x}–{A.end:#x}" in said
        assert f"{A.start:#x}–{A.end:#x}" in said  # what it was of before
        # Split: A's larger piece is followed; the merged region's figures are dropped
        # even where the process hands them over (a piece keeping a filed start).
        screen.follow(
            at(102.0, B, A_HEAD, A_TAIL),
            [(101.0, 132 * MiB), (102.0, A_TAIL.rss)],
            smaps_at=102.0,
        )
        await settle(pilot)
        assert screen.memory_region == A_TAIL
        assert screen.rss_history == [(102.0, A_TAIL.rss)]
        assert max(rss for _, rss in screen.rss_history) <= A_TAIL.size
        assert "132M" not in graph_title(screen)
        said = rendered_text(note)
        assert "restarted" in said and "split" in said
        status = str(screen.query_one("#detail-status").content)
        assert f"follows {A_TAIL.start:#x}–{A_TAIL.end:#x}" in status
        # A unmapped, B still there: said now.
        screen.follow(at(103.0, B), [(103.0, B.rss)], smaps_at=103.0)
        await settle(pilot)
        status = str(screen.query_one("#detail-status").content)
        assert "✗" in status and "unmapped" in status and f"{A.start:#x}–{A.end:#x}" in status
        assert screen.memory_region == A_TAIL


# -- a replayed region ------------------------------------------------------------------


async def test_replayed_region_says_what_a_recording_does_not_hold(fixture_procfs):
    from vmtop.tui.screens.replay import recorded_smaps_text

    snapshot = take_snapshot(fixture_procfs, 4242)
    region = next(r for r in snapshot.regions if r.path == "[heap]")
    text = recorded_smaps_text(region)
    screen = RegionDetailScreen(
        procfs=fixture_procfs,
        snapshot=snapshot._replace(raw_smaps=text, has_smaps=True),
        region=region,
        rss_history=[],
        recorded=True,
    )
    async with DetailApp(screen).run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        flags = rendered_text(screen.query_one("#detail-flags"))
        assert "not recorded" in flags and "none listed" not in flags
        fields = rendered_text(screen.query_one("#detail-fields"), width=160)
        rss = next(line for line in fields.splitlines() if line.split()[:1] == ["Rss"])
        assert "at that moment" in rss and "right now" not in fields


# -- opened after the process exited ----------------------------------------------------


async def test_detail_opened_after_the_process_exited_says_so(tmp_path):
    from .test_process_screen import PID, ScreenApp, copy_fixture, step

    root = copy_fixture(tmp_path)
    app = ScreenApp(root)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        shutil.rmtree(root / str(PID))
        await step(pilot, 5.0)
        table = app.screen.query_one("RegionTable")
        table.select_region(next(r for r in table.rows if r.path == "[heap]"))
        await pilot.press("enter")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, RegionDetailScreen)
        status = str(detail.query_one("#detail-status").content)
        assert f"✗ process {PID} exited at 22:13:25" in status, status
        assert "follows" not in status
        assert detail._timer is None


# -- the page strip's legend ------------------------------------------------------------


async def test_page_strip_legend_entries_are_never_cut_mid_phrase(fixture_procfs, monkeypatch):
    from vmtop.procfs import pagemap as pm
    from vmtop.tui.widgets.page_strip import LEGEND

    _, region, screen = open_detail(fixture_procfs, 4242, lambda r: r.path == "[heap]")
    entries = [pm.PRESENT | pm.EXCLUSIVE] * (region.size // 4096)
    entries[-1] = pm.SWAPPED | pm.GUARD_REGION  # (guard pages are said where there are some)
    monkeypatch.setattr(pm, "read_pagemap", lambda procfs, pid, start, end: list(entries))
    for size in ((160, 48), (80, 24)):
        async with DetailApp(screen).run_test(size=size) as pilot:
            await settle(pilot)
            widget = screen.query_one("#detail-pages")
            text = rendered_text(widget, width=widget.content_region.width)
            for _, label in LEGEND:
                assert any(line.endswith(label) for line in text.splitlines()), (size, label)
        _, region, screen = open_detail(fixture_procfs, 4242, lambda r: r.path == "[heap]")


# -- the go-to notification ------------------------------------------------------------


async def test_go_to_notice_is_dismissed_when_the_detail_of_its_region_opens():
    from .test_process_screen import HEAP, ScreenApp

    app = ScreenApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("g", *f"{HEAP[0] + 0x10:#x}", "enter")
        await settle(pilot)
        assert any(f"{HEAP[0]:x}-{HEAP[1]:x}" in n.message for n in app._notifications)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RegionDetailScreen)
        assert not [n.message for n in app._notifications]


@pytest.mark.live
async def test_vdso_detail_lists_its_sections_and_says_whose_image(tmp_path):
    """A live process's [vdso] has no file; its sections come from vmtop's own image,
    and the detail says so. Ground truth: readelf on the child's image, dumped by the
    test through /proc/PID/mem (vmtop itself never reads it)."""
    import subprocess

    from helpers_elf import readelf_sections, require_tools

    require_tools("readelf")
    child = subprocess.Popen(["sleep", "60"])
    try:
        procfs = ProcFS("/proc")
        snapshot, region, screen = open_detail(procfs, child.pid, lambda r: r.path == "[vdso]")
        with open(f"/proc/{child.pid}/mem", "rb") as mem:
            mem.seek(region.start)
            (tmp_path / "vdso.so").write_bytes(mem.read(region.size))
        text = next(s for s in readelf_sections(tmp_path / "vdso.so") if s.name == ".text")
        app = DetailApp(screen)
        async with app.run_test(size=(160, 48)) as pilot:
            await settle(pilot)
            sections = rendered_text(screen.query_one("#detail-sections"), width=150)
        start = region.start + text.addr
        assert f".text {start:#x}–{start + text.size:#x}" in " ".join(sections.split())
        assert "vmtop's own vDSO" in sections
    finally:
        child.kill()
        child.wait()


@pytest.mark.live
async def test_a_live_process_that_exited_has_no_files_or_pages_to_read(spawn):
    """A real process killed, then a region of its program opened: the sections and the
    pages say the process exited (its files were reached through /proc/PID). They
    used to say "file gone" of a program that is still on disk, and that the process
    exited "while being read"."""
    import subprocess

    from .test_process_screen import ScreenApp, step

    sleep = shutil.which("sleep")
    child = subprocess.Popen([sleep, "60"])
    app = ScreenApp("/proc", child.pid)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        child.kill()
        child.wait()
        await step(pilot, 5.0)
        table = app.screen.query_one("RegionTable")
        real = __import__("os").path.realpath(sleep)
        table.select_region(next(r for r in table.rows if r.path == real))
        await pilot.press("enter")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, RegionDetailScreen)
        sections = rendered_text(detail.query_one("#detail-sections"), width=150)
        pages = rendered_text(detail.query_one("#detail-pages"), width=150)
        assert "process has exited" in sections and "file gone" not in sections
        assert "process has exited" in pages and "while being read" not in pages
        assert not detail.check_action("reread_pages", ())


async def test_the_status_line_fits_80_columns(fixture_procfs):
    """A wrapped status line went on at column 0, under its marker."""
    _, _, screen = open_detail(fixture_procfs, 4242, lambda r: r.path == "[heap]")
    async with DetailApp(screen).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        status = screen.query_one("#detail-status")
        assert "follows the region" in str(status.content)
        assert status.size.height == 1, str(status.content)
