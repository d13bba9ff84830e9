"""Region and Snapshot: the immutable values every layer above /proc works with.

A ``Region`` is one line of ``/proc/PID/maps`` plus, when ``smaps`` was read, the
resident figures the views need on every tick. The rest of a region's smaps fields
are parsed on demand from the raw text the snapshot keeps (``raw_smaps``; see
``procfs.smaps_blocks.region_fields``),
because parsing all ~25 fields of 60 000 regions every tick would cost more than the
kernel's own read.

Regions are ``NamedTuple``s: immutable, cheap to create, safe to hand to a UI thread.
Sizes are in bytes everywhere.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import NamedTuple

from vmtop.model.facts import KsmStat
from vmtop.model.names import display_name


class Region(NamedTuple):
    start: int
    end: int
    perms: str  # four characters as the kernel prints them: "r-xp", "rw-s"
    offset: int
    dev: str  # "fe:00" as printed (hex major:minor)
    inode: int
    path: str  # name as the kernel printed it, decoded with surrogateescape
    # Resident figures from smaps, in bytes; None when smaps was not read.
    rss: int | None = None
    pss: int | None = None
    shared_clean: int | None = None
    shared_dirty: int | None = None
    private_clean: int | None = None
    private_dirty: int | None = None
    swap: int | None = None
    anonymous: int | None = None
    # Classification (vmtop.model.kinds): kind name, owning ELF object, thread id.
    kind: str = "anon"
    object: str | None = None
    tid: int | None = None

    @property
    def size(self) -> int:
        return self.end - self.start

    @property
    def dirty(self) -> int | None:
        """Shared + private dirty, the figure `pmap -x` shows as Dirty."""
        if self.shared_dirty is None and self.private_dirty is None:
            return None
        return (self.shared_dirty or 0) + (self.private_dirty or 0)

    @property
    def shared(self) -> bool:
        return self.perms[3:4] == "s"

    @property
    def dev_major_minor(self) -> tuple[int, int]:
        major, _, minor = self.dev.partition(":")
        try:
            return int(major, 16), int(minor or "0", 16)
        except ValueError:
            return 0, 0

    @property
    def identity(self) -> tuple[str, int, str]:
        """What stays the same for a mapping while it grows, shrinks or moves its start."""
        return (self.dev, self.inode, self.path)

    @property
    def is_file_backed(self) -> bool:
        return self.inode != 0 and self.path.startswith("/")

    @property
    def safe_path(self) -> str:
        """The name with control characters escaped, safe to print on a terminal."""
        return display_name(self.path)

    def contains(self, address: int) -> bool:
        return self.start <= address < self.end


def same_backing(p: Region, c: Region) -> bool:
    """Whether two regions map the same thing: the same device and inode and, for an
    anonymous region (inode 0), the same name ([heap], [stack], [anon:NAME]). A file's
    name is left out: the kernel prints the name the file has now, so a mapped file
    deleted or renamed over (a package upgrade), renamed, or whose mount was moved or
    lazily unmounted, shows another name for the very same mapping."""
    if p.dev != c.dev or p.inode != c.inode:
        return False
    if not p.inode:
        return p.path == c.path
    # A deleted file gets no name back: " (deleted)" gone again is a new file that the
    # file system gave the freed inode number (ext4 does at once), mapped in its place.
    return not (p.path.endswith(_DELETED) and not c.path.endswith(_DELETED))


def region_starting_at(regions, start: int) -> Region | None:
    """The region of ``regions`` (in address order: a sequence, columns too) that
    starts at ``start``: a bisect, no pass over them (Snapshot.region_at makes a list
    of every start of a tuple of regions)."""
    i = bisect_left(regions, start, key=_start_of)
    if i < len(regions) and regions[i][0] == start:
        return regions[i]
    return None


def _start_of(region) -> int:
    return region[0]


_DELETED = " (deleted)"


class ProcessInfo(NamedTuple):
    pid: int
    start_time: int  # clock ticks since boot, field 22 of /proc/PID/stat
    command: str  # cmdline joined by spaces, or "[comm]" when cmdline is empty
    comm: str
    state: str  # one letter: R S D Z T t X I
    ppid: int
    uid: int | None
    threads: int | None
    start_stack: int | None  # stat field 28: where the main stack started


class Totals(NamedTuple):
    """Process totals in bytes. From `status` (cheap) and, when read, summed smaps."""

    size: int
    rss: int | None
    pss: int | None
    private_dirty: int | None
    shared_dirty: int | None
    swap: int | None
    rss_anon: int | None = None
    rss_file: int | None = None
    rss_shmem: int | None = None
    # smem's USS, the memory only this process maps now: every region's Private_Clean +
    # Private_Dirty summed; None where smaps was not read. Last, and with a default:
    # recordings made before it have the nine fields above.
    uss: int | None = None

    @property
    def shr(self) -> int | None:
        """top's and htop's SHR: resident memory that is a file's or shmem's (RssFile +
        RssShmem of status, which is the third field of statm that both of them read),
        shared with others or not. None where status does not say."""
        if self.rss_file is None or self.rss_shmem is None:
            return None
        return self.rss_file + self.rss_shmem


class Snapshot(NamedTuple):
    """One sample of a process's address space. Immutable; safe to share across threads."""

    info: ProcessInfo
    taken_at: float  # time.time() when the read finished
    regions: tuple[Region, ...]
    totals: Totals
    has_smaps: bool
    status: dict  # parsed /proc/PID/status (values as strings; kB fields in bytes)
    # The smaps text, kept for lazy per-region fields (smaps_block); None once
    # compacted. Bytes, or a read-only memoryview of the buffer it was read into.
    raw_smaps: bytes | memoryview | None = None
    # How long reading the map took (smaps is parsed while it arrives: included), and
    # how long the parsing that was left once it had all arrived took.
    read_seconds: float = 0.0
    parse_seconds: float = 0.0
    # CPU time spent meanwhile: more than the two above, as smaps is read on a thread
    # of its own while it is parsed.
    cpu_seconds: float = 0.0
    # (start, bytes) of each region with memory in hugetlb pages, which no Rss counts
    # (Shared_Hugetlb + Private_Hugetlb of its smaps block); () when it has none, None
    # when not known (no smaps read, a snapshot read back from a file).
    hugetlb: tuple[tuple[int, int], ...] | None = None
    # The process's KSM merging (/proc/PID/ksm_stat), read with smaps; None where not
    # known (a kernel before 6.1, no smaps read, a snapshot read back from a file).
    ksm: KsmStat | None = None
    # When the regions' resident figures were read, where that is before ``taken_at``:
    # a tick that read only maps carries the last smaps read's figures (carry_smaps),
    # and so do the totals summed from them (pss, uss, private and shared dirty, swap).
    # None: read with this snapshot, or not read at all (``has_smaps`` false).
    smaps_read_at: float | None = None

    @property
    def figures_read_at(self) -> float:
        """When the resident figures were read: ``taken_at`` unless carried."""
        return self.taken_at if self.smaps_read_at is None else self.smaps_read_at

    @property
    def pid(self) -> int:
        return self.info.pid

    @property
    def identity(self) -> tuple[int, int]:
        return (self.info.pid, self.info.start_time)

    def compact(self) -> Snapshot:
        """The same snapshot without the raw smaps text (for history kept in memory)."""
        if self.raw_smaps is None:
            return self
        return self._replace(raw_smaps=None)

    def region_at(self, address: int) -> Region | None:
        regions = self.regions
        # Columns keep their starts as an array (no Region made for each row).
        starts = getattr(regions, "starts", None) or [r.start for r in regions]
        i = bisect_right(starts, address) - 1
        if i >= 0 and self.regions[i].contains(address):
            return self.regions[i]
        return None
