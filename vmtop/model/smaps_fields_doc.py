"""What each smaps field and each VmFlags code means, in plain words.

Written from the kernel's Documentation/filesystems/proc.rst (section "/proc/PID/smaps"),
reworded for a person watching a live process. The kernel adds fields and flags over
time: callers keep unknown ones and show them with ``UNKNOWN_FIELD`` / the raw code.
"""

from __future__ import annotations

UNKNOWN_FIELD = "(no description: newer kernel field)"

# Fields whose value is a count or a flag, not an amount of memory.
UNITLESS_FIELDS = frozenset({"THPeligible", "ProtectionKey"})

SMAPS_FIELD_DOCS: dict[str, str] = {
    "Size": "virtual size of the region: how much address space it covers",
    "KernelPageSize": "page size the kernel backs it with (e.g. 2 MB for hugetlb)",
    "MMUPageSize": "page size the MMU uses for it: the same as KernelPageSize except on "
    "some systems, e.g. PPC64 with 64K kernel pages on an MMU that uses 4K pages",
    "Rss": "resident set size: the region's pages in RAM that this process maps now (a "
    "file's or shared memory's pages it has not touched are left out, even in RAM)",
    "Pss": "proportional set size: resident memory with each shared page divided by the "
    "number of processes that map it",
    "Pss_Dirty": "the part of Pss made of dirty (modified) pages",
    "Pss_Anon": "the part of Pss made of anonymous pages (smaps_rollup only)",
    "Pss_File": "the part of Pss made of file-backed pages (smaps_rollup only)",
    "Pss_Shmem": "the part of Pss made of shared-memory (shmem/tmpfs) pages (smaps_rollup only)",
    "Shared_Clean": "resident pages also mapped elsewhere, unmodified: a file's can be "
    "dropped, shmem/shared anonymous only swapped out",
    "Shared_Dirty": "resident pages also mapped elsewhere, modified since they were read",
    "Private_Clean": "resident pages mapped only here, unmodified",
    "Private_Dirty": "resident pages mapped only here, modified; a page of shared memory "
    "counts here while no other process maps it, whoever wrote it. A shared file mapping's are "
    "written back to the file; anonymous ones and copy-on-write copies swapped out",
    "Referenced": "memory currently marked as referenced (accessed recently)",
    "Anonymous": "private anonymous pages: memory of no file, including the copies a "
    "process made by writing to a private file mapping; shared memory (shared anonymous, "
    "memfd, SysV, /dev/shm) is not counted here",
    "KSM": "pages merged with identical pages by Kernel Samepage Merging",
    "LazyFree": "memory marked with madvise(MADV_FREE): freed only under memory pressure, "
    "if still clean",
    "AnonHugePages": "anonymous memory mapped by transparent huge pages at the PMD level",
    "ShmemPmdMapped": "shared memory (shmem/tmpfs) mapped by huge pages at the PMD level",
    "FilePmdMapped": "file-backed memory (not shmem) mapped by huge pages at the PMD level",
    "Shared_Hugetlb": "hugetlbfs memory also mapped elsewhere (not counted in Rss or Pss)",
    "Private_Hugetlb": "hugetlbfs memory mapped only here (not counted in Rss or Pss)",
    "Swap": "would-be-anonymous memory that is out on swap (for shmem also the swapped "
    "part of the shared object)",
    "SwapPss": "this process's proportional share of the region's swap (not counting "
    "swapped shmem pages)",
    "Locked": "the Pss of this region if it is locked in RAM (mlock, MAP_LOCKED, or "
    "memfd_secret): locked pages are not swapped out",
    "THPeligible": "1 if page faults and khugepaged may give the region 2 MiB transparent "
    "huge pages under the current settings, else 0 (MADV_COLLAPSE and the page cache can "
    "still put huge pages where it is 0)",
    "ProtectionKey": "the memory protection key (pkey) of the region",
    "VmFlags": "the kernel's flags for the region, spelled out below",
}

# Two-letter VmFlags codes (proc.rst), in the order the kernel documents them.
VM_FLAG_DOCS: dict[str, str] = {
    "rd": "readable",
    "wr": "writeable",
    "ex": "executable",
    "sh": "shared",
    "mr": "may read",
    "mw": "may write",
    "me": "may execute",
    "ms": "may share",
    "gd": "stack segment grows down",
    "pf": "pure PFN range",
    "dw": "disabled write to the mapped file (older kernels: before 5.15)",
    "lo": "pages are locked in memory",
    "io": "memory mapped I/O area",
    "sr": "sequential read advice provided",
    "rr": "random read advice provided",
    "dc": "do not copy area on fork",
    "de": "do not expand area on remapping",
    "ac": "area is accountable (counts against the commit limit)",
    "nr": "swap space is not reserved for the area",
    "ht": "area uses huge TLB pages",
    "sf": "synchronous page fault",
    "ar": "architecture-specific flag",
    "wf": "wipe on fork",
    "dd": "do not include area in a core dump",
    "sd": "soft-dirty flag",
    "mm": "mixed map area",
    "hg": "huge page advice flag",
    "nh": "no huge page advice flag",
    "mg": "mergeable advice flag (KSM)",
    "bt": "arm64 BTI guarded page",
    "mt": "arm64 MTE allocation tags are enabled",
    "um": "userfaultfd missing tracking",
    "uw": "userfaultfd write-protect tracking",
    "ui": "userfaultfd minor fault",
    "ur": "userfaultfd read-write-protect tracking (newer kernels)",
    "ss": "shadow stack / guarded control stack page",
    "sl": "sealed (mseal: cannot be unmapped or changed)",
    "lf": "lock on fault pages",
    "dp": "always lazily freeable mapping",
    "gu": "may contain guard regions (MADV_GUARD_INSTALL; Linux 6.19+ and 6.18 updates)",
    # Older kernels.
    "mp": "MPX bounds table (older kernels)",
    "nl": "non-linear mapping (older kernels)",
}


# The same fields said of a recorded sample: a replay shows the figures of one moment,
# and "right now" would be read as the time the replay is watched.
RECORDED_FIELD_DOCS: dict[str, str] = {
    "Rss": "resident set size: the region's pages in RAM that this process mapped at that "
    "moment (a file's or shared memory's pages it had not touched are left out, even in RAM)",
    "Referenced": "memory marked as referenced (accessed recently) at that moment",
    "Swap": "would-be-anonymous memory that was out on swap at that moment (for shmem also "
    "the swapped part of the shared object)",
    # Not a field of smaps: the recording keeps its two hugetlb lines summed.
    "Hugetlb": "Shared_Hugetlb + Private_Hugetlb at that moment (a recording keeps their "
    "sum): memory in hugetlb pages, resident, which Rss and Pss leave out",
}


def describe_field(name: str, *, recorded: bool = False) -> str:
    """What smaps field ``name`` means; ``recorded``: said of a recorded sample."""
    if recorded and name in RECORDED_FIELD_DOCS:
        return RECORDED_FIELD_DOCS[name]
    return SMAPS_FIELD_DOCS.get(name, UNKNOWN_FIELD)


def describe_flags(codes: str | list[str]) -> list[tuple[str, str]]:
    """``"rd wr mr"`` → ``[("rd", "readable"), ...]``; unknown codes are kept with a note."""
    if isinstance(codes, str):
        codes = codes.split()
    return [(code, VM_FLAG_DOCS.get(code, "unknown flag (newer kernel?)")) for code in codes]
