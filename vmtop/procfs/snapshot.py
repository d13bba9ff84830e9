"""Take one Snapshot of a process: stat, smaps (or maps), status, and a check that the
process we finished reading is the one we started with (same PID and start time)."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from operator import itemgetter
from typing import NamedTuple

from vmtop.model.classify import classify_columns, classify_regions
from vmtop.model.columns import RegionColumns
from vmtop.model.region import ProcessInfo, Region, Snapshot, Totals
from vmtop.procfs.errors import (
    AccessDenied,
    NoSuchProcess,
    PidReused,
    ProcError,
    ProcessGone,
    UnreadableFile,
)
from vmtop.procfs.facts import read_classify_facts
from vmtop.procfs.hugetlb_figures import hugetlb_figures
from vmtop.procfs.ksm_stat import read_ksm_stat
from vmtop.procfs.parse_maps import ParseError, parse_maps, parse_maps_header
from vmtop.procfs.parse_proc import StatFields, parse_cmdline, parse_stat, status_uid
from vmtop.procfs.pieces import read_regions_in_pieces
from vmtop.procfs.reader import PF_EXITING, PF_KTHREAD, ProcFS
from vmtop.procfs.smaps_stream import SmapsStream


def read_process_info(procfs: ProcFS, pid: int) -> tuple[ProcessInfo, dict, StatFields | None]:
    """Identity and description of a process. Tolerates a copied tree without stat."""
    stat: StatFields | None
    try:
        stat = procfs.read_stat(pid)
    except NoSuchProcess:
        if not procfs.exists(pid):
            raise
        stat = None  # a copied tree with maps but no stat
    status = procfs.read_status(pid)
    argv = procfs.read_cmdline(pid)
    comm = stat.comm if stat else str(status.get("Name", ""))
    command = " ".join(argv) if argv else (f"[{comm}]" if comm else str(pid))
    threads = status.get("Threads")
    info = ProcessInfo(
        pid=pid,
        start_time=stat.start_time if stat else 0,
        command=command,
        comm=comm,
        state=stat.state if stat else str(status.get("State", "?"))[:1] or "?",
        ppid=stat.ppid if stat else 0,
        uid=status_uid(status),
        threads=int(threads) if isinstance(threads, str) and threads.isdigit() else None,
        start_stack=stat.start_stack if stat else None,
    )
    return info, status, stat


# Past this many regions a map is huge: smaps (and maps) are read a piece at a time into
# columns, the text never held (about 7 MB of smaps text here; 700 MB at a million).
HUGE_MAP_REGIONS = 10_000


class SmapsRead(NamedTuple):
    raw: bytes | memoryview | None  # read-only text; None: a copied tree without smaps
    # Columns when read in pieces (a huge map: see vmtop.model.columns), else a list.
    regions: list[Region] | RegionColumns | None
    read_seconds: float  # until the text was all there (parsing what had arrived)
    parse_seconds: float  # parsing what was left once it was
    cpu_seconds: float  # CPU time of the whole process meanwhile: both threads
    from_smaps: bool = True  # False: read from maps (no resident figures)


def read_smaps(procfs: ProcFS, pid: int, *, task: int | None = None) -> SmapsRead:
    """A process's smaps text and its regions, parsed while it is read: the kernel's
    page-table walk and our parse overlap. Errors are translated (ProcError).
    ``task``: read it through that thread (``task/TID/smaps``) instead."""
    name = "smaps" if task is None else f"task/{task}/smaps"
    c0 = time.process_time()
    t0 = time.perf_counter()
    with SmapsStream() as stream:
        raw = procfs.read_optional(pid, name, stream.feed)
        t1 = time.perf_counter()
        regions = stream.finish(raw) if raw is not None else None
    t2 = time.perf_counter()
    if raw is not None and regions and not procfs.is_live:
        # The kernel prints no malformed block; a copied tree's may hold anything. (On
        # /proc the scan would cost a tenth of the parse at 60 000 regions: skipped.)
        check_smaps_parsed(procfs.path(pid, name), pid, raw, regions)
    return SmapsRead(raw, regions, t1 - t0, t2 - t1, time.process_time() - c0)


_HEADER_LINE = re.compile(rb"^[0-9a-f][^\n]*", re.M)  # field lines start with a capital


def check_smaps_parsed(path: str, pid: int, raw, regions: list[Region]) -> None:
    """Raise UnreadableFile naming the first malformed header of an smaps text when the
    parse left a block out (see check_maps_parsed)."""
    headers = _HEADER_LINE.findall(raw)
    if len(regions) >= len(headers):
        return
    text = bytes(raw)
    for match in _HEADER_LINE.finditer(text):
        try:
            parse_maps_header(match.group())
        except ParseError as e:
            number = text.count(b"\n", 0, match.start()) + 1
            raise UnreadableFile(pid, path, f"line {number} is malformed: {e}") from None


def read_smaps_without_text(
    procfs: ProcFS, pid: int, *, task: int | None = None, parsed: dict | None = None
) -> SmapsRead:
    """A process's smaps regions, read and parsed a piece at a time with the text
    dropped as it goes (``raw`` is None; regions None when there is no smaps): at a
    million regions, 100 MB where holding the text costs a GB. ``parsed``: see
    read_regions_in_pieces."""
    name = "smaps" if task is None else f"task/{task}/smaps"
    c0 = time.process_time()
    t0 = time.perf_counter()
    regions = read_regions_in_pieces(procfs, pid, name, columns=True, parsed=parsed)
    seconds = time.perf_counter() - t0
    return SmapsRead(None, regions, seconds, 0.0, time.process_time() - c0)


def _read_map(
    procfs: ProcFS,
    pid: int,
    smaps: bool,
    task: int | None,
    keep_text: bool = True,
    parsed: dict | None = None,
) -> SmapsRead:
    """smaps if asked for and there, else maps (``raw`` None then): the regions and
    what reading them cost. Without ``keep_text``, smaps is read in pieces and its
    text not kept (``has_smaps`` says whether it was read)."""
    if smaps and not keep_text:
        read = read_smaps_without_text(procfs, pid, task=task, parsed=parsed)
        if read.regions is not None:
            return read
    elif smaps:
        read = read_smaps(procfs, pid, task=task)
        if read.regions is not None:
            return read
    name = "maps" if task is None else f"task/{task}/maps"
    t0 = time.perf_counter()
    if not keep_text:  # a huge map: parsed a piece at a time, as smaps is
        pieces = read_regions_in_pieces(procfs, pid, name, columns=True, parsed=parsed)
        if pieces is None:
            if not smaps:  # asked for maps alone, and there is only smaps
                read = read_smaps_without_text(procfs, pid, task=task, parsed=parsed)
                if read.regions is not None:
                    return read
            raise ProcError(pid, f"{procfs.path(pid)} has neither smaps nor maps")
        seconds = time.perf_counter() - t0
        return SmapsRead(None, pieces, seconds, 0.0, seconds, from_smaps=False)
    maps_raw = procfs.read_optional(pid, name)
    if maps_raw is None:
        if not smaps:  # asked for maps alone (`where`), and there is only smaps
            read = read_smaps(procfs, pid, task=task)
            if read.regions is not None:
                return read
        raise ProcError(pid, f"{procfs.path(pid)} has neither smaps nor maps")
    t1 = time.perf_counter()
    regions = parse_maps(maps_raw)
    seconds = time.perf_counter() - t1
    if not procfs.is_live:  # the kernel prints no malformed line (see read_smaps)
        check_maps_parsed(procfs.path(pid, name), pid, maps_raw, regions)
    return SmapsRead(None, regions, t1 - t0, seconds, t1 - t0 + seconds, from_smaps=False)


def check_maps_parsed(path: str, pid: int, raw, regions: list[Region]) -> None:
    """Raise UnreadableFile naming the first malformed line of a maps text when
    parse_maps left a line out (the kernel prints none: a copied tree's is broken).

    Cheap when every line made a region; the line-by-line look happens only when fewer
    regions than lines came out (de-duplicated overlaps of a torn read also do that)."""
    if len(regions) >= raw.count(b"\n") + (not raw.endswith(b"\n") and len(raw) > 0):
        return
    for number, line in enumerate(bytes(raw).split(b"\n"), 1):
        if not line:
            continue
        try:
            parse_maps_header(line)
        except ParseError as e:
            raise UnreadableFile(pid, path, f"line {number} is malformed: {e}") from None


def _living_thread(procfs: ProcFS, pid: int) -> tuple[int, StatFields] | None:
    """A thread of the process that has not exited, other than the main one (a main
    thread that called pthread_exit() is a zombie with empty maps): ProcFS.living_thread."""
    return procfs.living_thread(pid)


def take_snapshot(
    procfs: ProcFS,
    pid: int,
    *,
    smaps: bool = True,
    classify: bool = True,
    expected_start_time: int | None = None,
    keep_text: bool = True,
    parsed: dict | None = None,
) -> Snapshot:
    """Read and parse one snapshot. Raises a ProcError subclass with a clear message.

    ``keep_text=False``: smaps (or maps) is read in pieces and its text not kept
    (``raw_smaps`` None, as after ``Snapshot.compact``): for huge maps, where the text
    and the parse of all of it at once would cost more than the regions. ``parsed``:
    the caller's record of this process's last parses, whose columns are shared where
    nothing changed (see read_regions_in_pieces).

    With ``expected_start_time`` (a process read before), a refusal says whether the
    same process still runs, a program vmtop may not read (NoLongerReadable), or is
    gone (ProcFS.denied_again)."""
    try:
        return _take_snapshot(
            procfs,
            pid,
            smaps=smaps,
            classify=classify,
            expected_start_time=expected_start_time,
            keep_text=keep_text,
            parsed=parsed,
        )
    except AccessDenied as e:
        if expected_start_time is None:
            raise
        raise procfs.denied_again(pid, e, expected_start_time) from None


# An empty map of a running user process: read again this many times, this far apart.
EXEC_RETRIES = 10
EXEC_RETRY_SECONDS = 0.005


def _maybe_in_exec(procfs: ProcFS, pid: int, stat: StatFields | None) -> bool:
    """Could an empty map be a live process in the middle of exec? Not for a copied
    tree, a zombie, an exiting process or a kernel thread (which never has one)."""
    return (
        procfs.is_live
        and stat is not None
        and stat.state not in ("Z", "X")
        and not stat.flags & (PF_EXITING | PF_KTHREAD)
        and stat.ppid != 2
    )


def _take_snapshot(
    procfs: ProcFS,
    pid: int,
    *,
    smaps: bool,
    classify: bool,
    expected_start_time: int | None,
    keep_text: bool,
    parsed: dict | None,
) -> Snapshot:
    info, status, stat = read_process_info(procfs, pid)
    if expected_start_time is not None and stat is not None:
        if info.start_time != expected_start_time:
            raise PidReused(pid)
    task: int | None = None
    read = _read_map(procfs, pid, smaps, None, keep_text, parsed)
    if not read.regions and read.raw is not None and bytes(read.raw).strip():
        raise _no_region(procfs, pid, None)
    if not read.regions and stat is not None and stat.state == "Z":
        living = _living_thread(procfs, pid)
        if living is not None:
            task, thread_stat = living
            info = info._replace(state=thread_stat.state)
            # The zombie main thread shows no command line; its siblings do.
            argv = parse_cmdline(procfs.read_task_file(pid, task, "cmdline") or b"")
            if argv:
                info = info._replace(command=" ".join(argv))
            read = _read_map(procfs, pid, smaps, task, keep_text, parsed)
    if not read.regions and _maybe_in_exec(procfs, pid, stat):
        # exec replaces the memory map: read in between, it is empty for a moment, and
        # the process looked as if it had exited (the TUI, watch, record all ended).
        for _ in range(EXEC_RETRIES):
            time.sleep(EXEC_RETRY_SECONDS)
            info, status, stat = read_process_info(procfs, pid)
            read = _read_map(procfs, pid, smaps, task, keep_text, parsed)
            if read.regions or not _maybe_in_exec(procfs, pid, stat):
                break
    regions: Sequence[Region] = read.regions or []
    raw = read.raw
    if not regions:
        if raw is not None and bytes(raw).strip():
            raise _no_region(procfs, pid, task)
        raise procfs.explain_empty_maps(pid, stat)
    if stat is not None and procfs.is_live:
        _check_still_there(procfs, pid, stat, task)
    if classify:
        facts = read_classify_facts(procfs, pid, regions, raw if read.from_smaps else None)
        if isinstance(regions, RegionColumns):
            regions = classify_columns(regions, facts)
        else:
            regions = classify_regions(regions, facts)
    return Snapshot(
        info=info,
        taken_at=time.time(),
        regions=regions if isinstance(regions, RegionColumns) else tuple(regions),
        totals=compute_totals(regions, status, read.from_smaps),
        has_smaps=read.from_smaps,
        status=status,
        raw_smaps=raw,
        read_seconds=read.read_seconds,
        parse_seconds=read.parse_seconds,
        cpu_seconds=read.cpu_seconds,
        hugetlb=_hugetlb(status, read) if read.from_smaps else None,
        ksm=read_ksm_stat(procfs, pid) if read.from_smaps else None,
    )


def _hugetlb(status: dict, read: SmapsRead) -> tuple[tuple[int, int], ...] | None:
    """Each region's memory in hugetlb pages, searched for only where the process has
    some (status: HugetlbPages, since Linux 4.15); None where the text is not kept (a
    huge map, read in pieces) or status does not say."""
    pages = status.get("HugetlbPages")
    if pages == 0:
        return ()
    if not isinstance(pages, int) or read.raw is None:
        return None
    return hugetlb_figures(read.raw)


def _no_region(procfs: ProcFS, pid: int, task: int | None) -> ProcError:
    """An smaps text that is not empty but holds no region: not what the kernel prints."""
    name = "smaps" if task is None else f"task/{task}/smaps"
    return UnreadableFile(pid, procfs.path(pid, name), "malformed: not one region in it")


def _check_still_there(procfs: ProcFS, pid: int, stat: StatFields, task: int | None) -> None:
    """The PID could have been reused while we read: never mix two processes. And once
    a process's memory is being torn down the kernel ends smaps early, so a process (or
    the thread it was read through) that is exiting gives no snapshot."""
    try:
        after = procfs.read_stat(pid, seen=True)
    except ProcError:
        after = None
    if after is not None and after.start_time != stat.start_time:
        raise PidReused(pid)
    if task is not None:  # the main thread is a zombie already: look at the reader
        data = procfs.read_task_file(pid, task, "stat")
        try:
            after = parse_stat(data) if data else None
        except ValueError:
            after = None
    if after is None or after.state in ("Z", "X") or after.flags & PF_EXITING:
        raise ProcessGone(pid)


def _sum(regions: Sequence[Region], field: str) -> int:
    if isinstance(regions, RegionColumns):
        return regions.total(field)
    # In C: pick the field of every region, drop the Nones (and zeros), add.
    return sum(filter(None, map(itemgetter(Region._fields.index(field)), regions)))


def compute_totals(regions: Sequence[Region], status: dict, has_smaps: bool) -> Totals:
    def status_bytes(key: str) -> int | None:
        value = status.get(key)
        return value if isinstance(value, int) else None

    size = _sum(regions, "end") - _sum(regions, "start")
    if has_smaps:
        private_dirty = _sum(regions, "private_dirty")
        return Totals(
            size=size,
            rss=_sum(regions, "rss"),
            pss=_sum(regions, "pss"),
            private_dirty=private_dirty,
            shared_dirty=_sum(regions, "shared_dirty"),
            swap=_sum(regions, "swap"),
            rss_anon=status_bytes("RssAnon"),
            rss_file=status_bytes("RssFile"),
            rss_shmem=status_bytes("RssShmem"),
            uss=_sum(regions, "private_clean") + private_dirty,
        )
    return Totals(
        size=size,
        rss=status_bytes("VmRSS"),
        pss=None,
        private_dirty=None,
        shared_dirty=None,
        swap=status_bytes("VmSwap"),
        rss_anon=status_bytes("RssAnon"),
        rss_file=status_bytes("RssFile"),
        rss_shmem=status_bytes("RssShmem"),
    )


def check_watchable(procfs: ProcFS, pid: int) -> None:
    """Raise the ProcError the TUI would show for ``pid`` (no such process, a kernel
    thread, a zombie, permission denied, ...), for the CLI to say in one line before a
    screen or a server starts. Reads the maps once, as the TUI's first sample does
    (without smaps: the same permission, less work)."""
    take_snapshot(procfs, pid, smaps=False, classify=False, keep_text=False)
