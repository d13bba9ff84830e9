"""What a range that appeared or went most likely is, and each event's words.

The diff (``vmtop.model.diff``) finds what changed; this module says it: the detail of
a mapped or unmapped range from the region it belongs to (a thread's stack, an arena,
a big malloc block, a reserve, JIT code), and the words for a change of permissions.
Pure over ``Region`` values: no files, no terminal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from vmtop.model import cuda, kinds
from vmtop.model import events as ev
from vmtop.model.cached_stacks import CACHED_GUARD, is_cached_stack
from vmtop.model.events import Event
from vmtop.model.postgres_words import postgres_what_it_is
from vmtop.model.python_facts import (
    arena_size_for,
    arenas_version,
    is_arenas_object,
    version_of_object,
)
from vmtop.model.region import Region
from vmtop.model.sysv import SYSV_PREFIX
from vmtop.model.v8_pages import V8_LARGE, V8_PAGE

# glibc malloc serves a request of at least this size with its own mmap (M_MMAP_THRESHOLD
# default; glibc raises it at run time after freeing such a block, unless it was set).
MALLOC_MMAP_THRESHOLD = 128 * 1024

# What a brk growth bigger than glibc's 128 KiB top pad plus 128 KiB means.
# Between two samples many small blocks can add up to as much, so both are said.
HEAP_GREW_BIG = (
    "brk moved the end of the heap up by more than 256 KiB since the last sample: many "
    "small blocks, or a block of 128 KiB or more that came from the heap, not from mmap "
    "(glibc's mmap threshold is dynamic: freeing an mmapped block raises it to that "
    "block's size, so later blocks that big use the heap)"
)

JIT_MAPPED = (
    "executable anonymous memory: JIT-compiled code appeared (JVM code cache, V8, "
    "LLVM's ORC JIT as in PostgreSQL's jit, PCRE2 JIT, libffi trampolines)"
)
JIT_FREED = "executable anonymous memory: JIT-compiled code given back"

HEAP_NAME = "[heap]"
STACK_NAME = "[stack]"


def _arenas_words(obj: str, size: int, freed: bool) -> str:
    """Told by their size in a CPython process (python_arenas): not "the map cannot
    tell which"."""
    arena = arena_size_for(arenas_version(obj))
    count = size // arena
    what = f"{count} of CPython's object arenas" if count > 1 else "one of CPython's object arenas"
    if freed:
        each = "each" if count > 1 else "it"
        return (
            f"{what} given back (obmalloc, {size_text(arena)} each): every pool in {each} "
            "was empty, all its objects freed"
        )
    version = version_of_object(obj)
    return (
        f"{what} mapped (obmalloc, {size_text(arena)} each): Python {version} needed "
        "room for more small objects (512 bytes or less)"
    )


def _is_private_anon_rw(r: Region) -> bool:
    return not r.inode and not r.path and r.perms == "rw-p"


# (In Node, V8's 256 KiB heap pages come and go by the dozen: malloc is not the only
# maker of such memory, and the words do not put it first alone.)
# realloc of such a block is mremap: grown or shrunk in place, or moved elsewhere with
# its pages (a Rust Vec, a CPython list growing), no malloc, free, mmap or munmap.
BIG_ANON_MAPPED = (
    "anonymous memory of 128 KiB or more: malloc above its mmap threshold, or a direct "
    "mmap, as runtimes make for their heaps and buffers (the JVM's heap, CPython's "
    "object arenas of 256 KiB or 1 MiB, the storage of Node's Buffers and ArrayBuffers), "
    "or realloc of "
    "such a block, which mremap grew or moved; the map cannot tell which"
)
BIG_ANON_FREED = (
    "anonymous memory of 128 KiB or more: free() of a malloc block above its mmap "
    "threshold, or a direct munmap, as runtimes make for their heaps, or realloc of such "
    "a block, which mremap shrank or moved away; the map cannot tell which"
)
# The same sample saw a block of anonymous memory go and a larger one appear already
# holding at least its resident pages: what realloc's mremap does when it moves a block,
# and what a free() and a bigger malloc filled at once do too. Both are said; neither
# is put first as the likely one.
MOVED_AWAY = (
    "free() or munmap, or realloc moving the block (mremap) to {to:#x}, where a block "
    "holding at least its pages appeared in the same sample"
)
MOVED_HERE = (
    "malloc or mmap, or realloc moving a block (mremap) from {frm:#x}, which went in the "
    "same sample holding no more pages than this"
)
# Between two samples an munmap followed by a new mapping at the same address (glibc and
# the kernel reuse freed ranges all the time) looks just like an mmap with MAP_FIXED.
MAPPED_OVER = (
    "took the place of another mapping between samples (it was unmapped and this one "
    "mapped there, or an mmap with MAP_FIXED over it)"
)
REPLACED = "replaced between samples by another mapping (unmapped and mapped again, or MAP_FIXED)"
THREAD_EXIT_CACHED = (
    "a thread exited; its stack stays mapped: glibc keeps finished threads' stacks (up to "
    "40 MiB) cached for the next thread it starts, and gave back almost all of its pages "
    "(madvise): resident memory falls, no address space is freed"
)
THREAD_EXIT = (
    "a thread exited and its stack and the guard below it were unmapped together: glibc "
    "caches finished threads' stacks (up to 40 MiB) and unmaps the oldest past that, for "
    "a joinable thread at pthread_join"
)


def what_it_is(r: Region, start: int, size: int, *, freed: bool) -> str:
    """What a range that appeared (or went) most likely is, from its region."""
    kind = r.kind
    if kind == kinds.THREAD_STACK:
        if freed and is_cached_stack(r):
            return f"a {r.object}: glibc let it go (it keeps up to 40 MiB of them)"
        if freed:
            return "a thread's stack: its thread exited, or glibc let a cached stack go"
        return (
            "a thread's stack: pthread_create maps it with a guard at its low end (a "
            "no-access region below; with glibc 2.42+ on Linux 6.13+, inside it)"
        )
    if kind == kinds.ARENA:
        if freed:
            return f"a glibc malloc arena heap given back ({r.object}): it was empty"
        return (
            f"a new 64 MiB-aligned glibc malloc heap ({r.object}): a new arena for threads, "
            "or more room for an arena whose heap was full; this is its usable part, the "
            "rest is reserved for it"
        )
    if kind == kinds.RESERVED:
        if r.object and r.object.startswith("arena"):
            return f"the rest of {r.object}'s 64 MiB heap, reserved for it to grow into"
        if r.object == cuda.RESERVE:
            return (
                "no-access address space the CUDA driver keeps (with unified addressing, "
                "GPU allocations get their addresses from it): it costs the host no memory"
            )
        if r.rss:  # (mprotect PROT_NONE of written memory keeps its pages)
            return (
                "no-access memory: made no-access (mprotect PROT_NONE) after it was "
                "written, so its pages stay resident until they are given back "
                "(MADV_DONTNEED, munmap)"
            )
        return (
            "no-access address space reserved for later (a runtime's heap or code "
            "reserve, a GPU address range): it costs no memory until made accessible"
        )
    if kind == kinds.GUARD:
        text = f"no-access guard of {r.object}" if r.object else "no-access guard pages"
        if freed and r.object and r.object.endswith(CACHED_GUARD):
            text += ": unmapped with its stack, which glibc let go"
        elif freed and r.object and "stack" in r.object:
            text += ": unmapped with its stack when the thread went"
        return text
    if kind == kinds.GAP:
        return f"a no-access hole in {r.object}'s span: the loader's alignment gap"
    if kind == kinds.JIT:
        return JIT_FREED if freed else JIT_MAPPED
    if kind == kinds.DEVICE:
        return f"a device mapping: {r.object}" if r.object else "a device mapping"
    if kind == kinds.BSS and not freed and start == r.start and r.object:
        # The .bss region itself is new, not grown: its object was just loaded.
        return f"the .bss of {r.object}: mapped with its object (dlopen)"
    if kind == kinds.ANON and r.object in (V8_PAGE, V8_LARGE):
        # Told by its place (v8_pages): not "the map cannot tell which".
        what = "a V8 heap page" if r.object == V8_PAGE else "a V8 large object's page"
        if freed:
            return f"{what} given back: Node's JavaScript heap shrank"
        return f"{what}: Node's JavaScript heap grew (V8 maps it in 256 KiB-aligned pages)"
    if kind == kinds.ANON and is_arenas_object(r.object):
        return _arenas_words(r.object, size, freed)
    # A range merged into an object's .bss region is no .bss: that never grows. (A .bss
    # going away is its object unloaded: dlclose.)
    if _is_private_anon_rw(r) and (kind == kinds.ANON or kind == kinds.BSS and not freed):
        if size >= MALLOC_MMAP_THRESHOLD:
            return BIG_ANON_FREED if freed else BIG_ANON_MAPPED
        return "anonymous memory"
    if kind == kinds.ANON and not r.inode and not r.path and r.perms.endswith("p"):
        # Not rw-: no malloc block (those are read-write).
        return (
            f"anonymous memory, {r.perms[:3]}: a direct mmap with those permissions, or "
            "one mprotect changed since (malloc's memory is rw-)"
        )
    if kind == kinds.BSS:
        return f"the .bss of {r.object}: unmapped with its object (dlclose)"
    if kind == kinds.SHM:
        postgres = postgres_what_it_is(r, freed)  # (its dynamic shared memory)
        if postgres is not None:
            return postgres
        if not r.object:
            return "shared memory"
        if freed:
            # The attach count was the sample's before: this process's detach, and
            # maybe others', came since ("3 attached" of a segment no longer listed).
            return f"shared memory: {_ATTACHED.sub('', r.object)}"
        return f"shared memory: {r.object}"
    if r.path.startswith("/"):
        return "a file"
    return ""


def mapped_detail(
    c: Region, start: int, size: int, replaced: bool, below: bool, above: bool
) -> str:
    parts = []
    if replaced:
        parts.append(MAPPED_OVER)
    if below and above:
        parts.append("joined the regions below and above into one")
    elif below:
        parts.append(
            "merged into the region below: the kernel extended it instead of adding a line"
        )
    elif above:
        parts.append(
            "merged into the region above: the kernel extended it instead of adding a line"
        )
    what = what_it_is(c, start, size, freed=False)
    if what:
        parts.append(what)
    return "; ".join(parts)


_ATTACHED = re.compile(r", \d+ attached")


def unmapped_detail(
    p: Region, start: int, end: int, size: int, replaced: bool, linked: bool
) -> str:
    parts = []
    if replaced:
        parts.append(REPLACED)
    elif linked:
        if start == p.start:
            parts.append("cut from the bottom of the region above")
        elif end == p.end:
            parts.append("cut from the top of the region below")
        else:
            parts.append("punched a hole in the region")
    elif p.path.startswith(SYSV_PREFIX):
        parts.append("shmdt or munmap")  # (a SysV segment is detached with shmdt)
    elif not (_is_private_anon_rw(p) and size >= MALLOC_MMAP_THRESHOLD):
        parts.append("munmap")  # (a big anonymous block's words name mremap too)
    what = what_it_is(p, start, size, freed=True)
    if what:
        parts.append(what)
    return "; ".join(parts)


DELETED_SUFFIX = " (deleted)"


def renamed_words(p: Region, c: Region) -> str:
    """What a file_renamed event says: the same mapping of the same file (device and
    inode), whose name the kernel now prints otherwise."""
    if c.path.endswith(DELETED_SUFFIX) and not p.path.endswith(DELETED_SUFFIX):
        return (
            "the file was deleted, or replaced on disk (a package upgrade renames a new file "
            "over it), or this one of its hard links unlinked: the kernel says which name "
            "went, not whether the file is gone; this process maps the file it mapped, until "
            "it maps the name again (e.g. when restarted)"
        )
    return (
        f"the same file, renamed from {p.path} (or its mount moved): nothing was mapped or unmapped"
    )


def protection_change(p: Region, c: Region) -> tuple[str, str]:
    """The event for the same mapping with other permissions: a reserve committed or
    given back, code made executable, or a plain mprotect."""
    change = f"{p.perms} -> {c.perms}"
    was_none, now_none = p.perms[:3] == "---", c.perms[:3] == "---"
    if was_none and not now_none and p.kind in (kinds.RESERVED, kinds.GUARD):
        if c.kind == kinds.ARENA:
            why = f"{c.object} grew into its reserve"
        elif c.object and c.object.startswith(("Java heap", "Java metaspace", "code cache")):
            why = f"the {c.object.partition(':')[0]} grew into its reserve"
        elif c.kind == kinds.JIT:
            why = "the JIT's code cache grew into its reserve"
        else:
            why = "the program committed address space it had reserved (a runtime's heap "
            why += "growing: a JVM's, V8's, a WebAssembly memory, an allocator's pool)"
        return ev.RESERVE_COMMITTED, f"{change}: {why} (mprotect or mmap over it)"
    if now_none and not was_none and c.kind == kinds.RESERVED:
        arena = c.object and c.object.startswith("arena")
        # (glibc maps no-access over a shrinking arena only under strict overcommit;
        # otherwise it gives the pages back in place, which is an rss_changed)
        why = (
            f"{c.object} shrank, as glibc does with vm.overcommit_memory=2"
            if arena
            else "a runtime gave memory back"
        )
        # mprotect alone leaves the pages resident: freed only where the RSS fell.
        freed = c.rss is not None and p.rss is not None and c.rss < p.rss
        pages = ", its pages freed" if freed else ""
        return ev.RESERVE_RELEASED, f"{change}: back to reserve{pages} ({why})"
    if "x" in c.perms[:3] and "x" not in p.perms[:3] and not c.inode:
        return (
            ev.PROTECTION_CHANGED,
            f"{change} (mprotect): code written here made executable (JIT)",
        )
    return ev.PROTECTION_CHANGED, f"{change} (mprotect)"


# The causes of a split or merge of lines with the same permissions, before the lines'
# VmFlags are read (procfs.vm_flag_changes reads them from the smaps texts kept).
FLAGS_SPLIT_CAUSE = "madvise, mlock or mseal of part of it (the same permissions: a VmFlag differs)"
# (Nothing the map shows tells them apart: a block freed and another malloc'd in its
# place between samples, which the kernel joined to its neighbour, was said as munlock
# or madvise, which the program never called: a PostgreSQL sort, review.)
FLAGS_MERGE_CAUSE = (
    "their VmFlags match again (munlock, madvise), or one was unmapped and memory "
    "mapped in its place between samples, which the kernel joined to its neighbour"
)

# What sets each VmFlags code that can differ between lines of one mapping, and what
# clears it again (None: nothing does; a sealed range stays sealed).
FLAG_CALLS: dict[str, tuple[str, str | None]] = {
    "lo": ("mlock", "munlock"),
    "lf": ("mlock2(MLOCK_ONFAULT)", "munlock"),
    "sl": ("mseal", None),
    "dd": ("madvise(MADV_DONTDUMP)", "madvise(MADV_DODUMP)"),
    "dc": ("madvise(MADV_DONTFORK)", "madvise(MADV_DOFORK)"),
    "wf": ("madvise(MADV_WIPEONFORK)", "madvise(MADV_KEEPONFORK)"),
    "hg": ("madvise(MADV_HUGEPAGE)", "madvise(MADV_NOHUGEPAGE)"),
    "nh": ("madvise(MADV_NOHUGEPAGE)", "madvise(MADV_HUGEPAGE)"),
    "mg": ("madvise(MADV_MERGEABLE) (KSM)", "madvise(MADV_UNMERGEABLE)"),
    "sr": ("madvise(MADV_SEQUENTIAL)", "madvise(MADV_NORMAL)"),
    "rr": ("madvise(MADV_RANDOM)", "madvise(MADV_NORMAL)"),
    "um": ("userfaultfd registration", "userfaultfd unregistration"),
    "uw": ("userfaultfd write-protect registration", "userfaultfd unregistration"),
    "ui": ("userfaultfd minor-fault registration", "userfaultfd unregistration"),
    "gu": ("madvise(MADV_GUARD_INSTALL)", None),
}


def split_cause(perms: Iterable[str]) -> str:
    """What cut one mapping into lines with these permissions: mprotect where they
    differ; where they are all the same, a flag only smaps' VmFlags shows (mlock: lo,
    mseal: sl, MADV_DONTDUMP: dd, MADV_NOHUGEPAGE: nh, ...), never mprotect."""
    if len(set(perms)) > 1:
        return "mprotect of part of it"
    return FLAGS_SPLIT_CAUSE


def merge_cause(perms: Iterable[str]) -> str:
    """What made lines with these permissions one line again."""
    if len(set(perms)) > 1:
        return "permissions match again"
    return FLAGS_MERGE_CAUSE


def flags_split_cause(pieces: Sequence[frozenset[str]]) -> str | None:
    """The cause of a split into lines with these VmFlags (all the same permissions):
    "mlock of part of it (VmFlags lo)"; None where their flags are all the same (the
    kernel cuts lines for what VmFlags do not show: an anon_vma name, a mempolicy)."""
    differ = sorted(frozenset.union(*pieces) - frozenset.intersection(*pieces))
    if not differ:
        return None
    calls = [FLAG_CALLS[f][0] if f in FLAG_CALLS else f"a change of VmFlag {f}" for f in differ]
    return f"{' and '.join(dict.fromkeys(calls))} of part of it (VmFlags {' '.join(differ)})"


def flags_merge_cause(pieces: Sequence[frozenset[str]], now: frozenset[str]) -> str | None:
    """The cause of lines with these VmFlags becoming one with ``now``'s: "munlock:
    their VmFlags match again (lo cleared)", "mlock of the rest: ... (lo set)"."""
    differ = sorted(frozenset.union(*pieces) - frozenset.intersection(*pieces))
    if not differ:
        return None
    calls, said = [], []
    for f in differ:
        setting, clearing = FLAG_CALLS.get(f, (f"a change of VmFlag {f}", None))
        if f in now:
            calls.append(f"{setting} of the rest")
            said.append(f"{f} set")
        else:
            calls.append(clearing or f"a change of VmFlag {f}")
            said.append(f"{f} cleared")
    return f"{' and '.join(dict.fromkeys(calls))}: their VmFlags match again ({', '.join(said)})"


def regions_text(n: int) -> str:
    return "one region" if n == 1 else f"{n} regions"


def size_text(n: int) -> str:
    value = float(abs(n))
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            text = f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
            return ("-" if n < 0 else "") + text
        value /= 1024
    return str(n)


SWAPPED_OUT = "pages swapped out, not freed"
SWAPPED_IN = "pages swapped in"


def says_swap_moved(detail: str) -> bool:
    """Whether an rss_changed's words say its change went to swap or came from it (then
    no swap_changed says it again)."""
    return detail.startswith((SWAPPED_OUT, SWAPPED_IN))


def resident_change_words(
    delta: int, now: int, swap_now: int | None, swap_was: int | None = None
) -> str:
    """What an rss_changed says: the resident change of a region (``delta``, ``now``
    resident) told by its swap (``swap_now``, and ``swap_was`` where the figure it was
    compared with is known). A fall that went to swap is no memory freed: the process
    still has it, out of RAM."""
    on_swap = f", {size_text(swap_now)} on swap" if swap_now else ""
    moved = None if swap_now is None or swap_was is None else swap_now - swap_was
    if delta < 0:
        if moved is not None and moved >= -delta // 2:
            why = SWAPPED_OUT
        elif swap_now == 0 or moved is not None:  # (none of it went to swap)
            why = "pages freed or reclaimed"
        else:
            why = "pages freed, reclaimed or swapped out"
    elif moved is not None and -moved >= delta // 2:
        why = SWAPPED_IN
    else:
        why = FAULTED_IN
    return f"{why}: now {size_text(now)} resident{on_swap}"


FAULTED_IN = "pages faulted in"
HUGE_PAGE = 2 << 20  # x86-64's PMD size
IN_HUGE_PAGES = (
    "pages faulted in as transparent huge pages: 2 MiB each, however little of each "
    "was touched (a fault where THP may back the range, or khugepaged or MADV_COLLAPSE "
    "filling a sparse range)"
)


def in_huge_pages(event: Event, huge_before: int, huge_now: int) -> Event:
    """An rss_changed rise told by the region's memory in transparent huge pages
    (smaps' AnonHugePages, ShmemPmdMapped and FilePmdMapped, before and now): where they
    grew by half of it or more, the memory came as huge pages, 2 MiB for a byte touched
    (khugepaged filled a sparse 16 MiB region with no fault at all), not as faulted
    pages. Other events as they are."""
    grew = huge_now - huge_before
    if (
        event.event != ev.RSS_CHANGED
        or event.delta <= 0
        or not event.detail.startswith(FAULTED_IN + ":")
        or 2 * grew < event.delta
        # Huge pages that grew by more than the memory that came (and a huge page's
        # worth that a sparse range held already): resident pages collapsed too, and
        # which of the rise came in huge pages is not known.
        or grew > event.delta + HUGE_PAGE
    ):
        return event
    rest = event.detail[len(FAULTED_IN) :]
    return event._replace(detail=f"{IN_HUGE_PAGES}{rest}, {size_text(huge_now)} in huge pages")


# -- a whole region's VmFlags changed (vmtop.model.vm_flag_events) ----------------------

# Soft-dirty tracking: the kernel sets it on a mapping made or grown, and a write to
# /proc/PID/clear_refs (CRIU, a checkpoint) clears it. Bookkeeping, no call of the
# program's: never said.
UNSAID_FLAGS = frozenset(("sd",))

# A whole region, not part of one: mlockall locks (munlockall unlocks) every region at
# once, which lines cut by mlock of part of one never are.
WHOLE_FLAG_CALLS: dict[str, tuple[str, str | None]] = {
    **FLAG_CALLS,
    "lo": ("mlock or mlockall(MCL_CURRENT)", "munlock or munlockall"),
    "lf": ("mlock2(MLOCK_ONFAULT) or mlockall(MCL_CURRENT | MCL_ONFAULT)", "munlock or munlockall"),
    # (prctl(PR_SET_MEMORY_MERGE) makes every region of the process mergeable at once.)
    "mg": (
        "madvise(MADV_MERGEABLE) or prctl(PR_SET_MEMORY_MERGE) (KSM)",
        "madvise(MADV_UNMERGEABLE) or prctl(PR_SET_MEMORY_MERGE, 0)",
    ),
}

# What a flag set (cleared) means for the region, where a few words say it.
FLAG_MEANINGS: dict[str, tuple[str, str | None]] = {
    "lo": (
        "its pages are locked in memory: faulted in now, never swapped out",
        "its pages may be swapped out again",
    ),
    "lf": (
        "its pages are locked in memory as they fault in, never swapped out",
        "its pages may be swapped out again",
    ),
    "sl": (
        "sealed: it can no longer be unmapped, moved, resized or given other permissions, "
        "until the process exits",
        None,
    ),
    "dd": ("left out of core dumps", "in core dumps again"),
    "dc": ("a forked child does not get it", "a forked child gets it again"),
    "wf": ("a forked child gets it zero-filled", "a forked child gets a copy of it again"),
    "hg": ("transparent huge pages wanted for it", None),
    "nh": ("never backed by transparent huge pages", None),
    "mg": ("KSM may merge its pages with identical ones", "KSM unmerged its pages"),
}


def flags_change_words(was: frozenset[str], now: frozenset[str]) -> str | None:
    """What a flags_changed says: the call that changed a whole region's VmFlags from
    ``was`` to ``now`` and what that means: "mseal (VmFlags sl set): sealed: ...".
    None where only flags no call of the program's sets differ (soft-dirty)."""
    set_, cleared = now - was - UNSAID_FLAGS, was - now - UNSAID_FLAGS
    if "lf" in set_:
        set_ = set_ - {"lo"}  # (MLOCK_ONFAULT sets both: said by the one call)
    if "lf" in cleared:
        cleared = cleared - {"lo"}
    if not set_ and not cleared:
        return None
    calls, said, meanings = [], [], []
    for f in sorted(set_ | cleared):
        setting, clearing = WHOLE_FLAG_CALLS.get(f, (f"a change of VmFlag {f}", None))
        on = f in set_
        calls.append(setting if on else clearing or f"a change of VmFlag {f}")
        said.append(f"{f} {'set' if on else 'cleared'}")
        meaning = FLAG_MEANINGS.get(f, (None, None))[0 if on else 1]
        if meaning:
            meanings.append(meaning)
    text = f"{' and '.join(dict.fromkeys(calls))} (VmFlags {', '.join(said)})"
    return f"{text}: {'; '.join(meanings)}" if meanings else text


# A region that appeared with these VmFlags already: locked (mlockall(MCL_FUTURE) makes
# every later mapping so) or sealed within the sample it was mapped in.
NEW_REGION_FLAGS: dict[str, str] = {
    "lo": "locked in memory (VmFlags lo: mapped with MAP_LOCKED, after mlockall(MCL_FUTURE), "
    "or mlock since)",
    "sl": "sealed (VmFlags sl: mseal since it was mapped)",
}


def new_region_flags_words(flags: frozenset[str]) -> str | None:
    """What a region mapped with ``flags`` adds to its words: "locked in memory (...)"."""
    said = [NEW_REGION_FLAGS[f] for f in sorted(flags) if f in NEW_REGION_FLAGS]
    return "; ".join(said) or None
