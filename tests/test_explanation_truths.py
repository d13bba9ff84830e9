"""What vmtop says about Linux and glibc, checked against what they do (a review of
every explanation against the kernel's and glibc's sources, with experiments on this
kernel): each test pins the true statement where vmtop had said a false or misleading
one."""

from __future__ import annotations

from helpers_diff import MiB, base_regions, region, snapshot

from vmtop.model import events as ev
from vmtop.model import kinds
from vmtop.model.cached_stacks import CACHED
from vmtop.model.diff import diff_snapshots
from vmtop.model.event_words import THREAD_EXIT, THREAD_EXIT_CACHED, protection_change
from vmtop.model.events import EVENT_DESCRIPTIONS, MALLOC_THRESHOLD_NOTE
from vmtop.model.explain import why_kind
from vmtop.model.kinds import KIND_DESCRIPTIONS
from vmtop.model.region import Region
from vmtop.model.smaps_fields_doc import SMAPS_FIELD_DOCS

AT = 0x7F20_0000_0000


def test_a_cached_stack_holds_almost_nothing_resident():
    # glibc madvises a finished thread's stack (all but PTHREAD_STACK_MIN) as the thread
    # exits (nptl/pthread_create.c, advise_stack_range): 4 MiB used, 24 kB left after.
    stack = Region(AT, AT + 8 * MiB, "rw-p", 0, "00:00", 0, "", kind=kinds.THREAD_STACK,
                   object=f"{CACHED}exited thread 7")  # fmt: skip
    said = why_kind(stack)
    assert "gave back almost all of its pages" in said, said
    assert "stays until" not in said
    assert "no memory was given back" not in THREAD_EXIT_CACHED
    assert "gave back almost all of its pages" in THREAD_EXIT_CACHED


def test_a_thread_exit_is_not_said_to_unmap_its_own_stack_first():
    # The stack goes to glibc's cache; past 40 MiB the oldest cached ones are unmapped
    # (nptl/nptl-stack.c, __nptl_free_stacks walks the cache from its tail).
    assert "oldest" in THREAD_EXIT and "40 MiB" in THREAD_EXIT
    assert "oldest" in EVENT_DESCRIPTIONS[ev.THREAD_EXITED]
    assert "A thread's exit unmaps its stack" not in MALLOC_THRESHOLD_NOTE


def test_the_malloc_note_names_every_setting_that_fixes_the_threshold():
    # mallopt(3): setting any of these disables the dynamic mmap threshold.
    for name in ("M_MMAP_THRESHOLD", "M_TRIM_THRESHOLD", "M_TOP_PAD", "M_MMAP_MAX"):
        assert name in MALLOC_THRESHOLD_NOTE
    # sysmalloc alone checks the threshold: a free block in the heap serves first.
    assert "free block there is large enough" in MALLOC_THRESHOLD_NOTE


def test_anonymous_leaves_out_shared_memory():
    # proc.rst: shmem pages (MAP_SHARED|MAP_ANONYMOUS, memfd, SysV, /dev/shm) belong to
    # files of the internal tmpfs: 1 MiB touched showed Anonymous: 0 kB.
    assert "shared memory" in SMAPS_FIELD_DOCS["Anonymous"]
    assert "not counted" in SMAPS_FIELD_DOCS["Anonymous"]
    assert SMAPS_FIELD_DOCS["Locked"].startswith("the Pss")  # task_mmu.c: pss_locked


def test_a_deleted_mapped_file_is_found_by_maps_not_lsof_l1():
    # lsof +L1 selects open descriptors: a file only mapped shows as DEL, not under +L1.
    old = Region(AT, AT + MiB, "r--p", 0, "fe:00", 12, "/tmp/data (deleted)", kind=kinds.FILE)
    said = why_kind(old)
    assert "(deleted)' /proc/*/maps" in said and "lsof +L1 lists such files" not in said


def test_no_access_memory_can_still_be_resident():
    # mprotect(PROT_NONE) on touched pages leaves them resident (1 MiB Rss, ---p).
    assert "nothing resident" not in KIND_DESCRIPTIONS[kinds.RESERVED]
    assert "stay resident" in KIND_DESCRIPTIONS[kinds.RESERVED]


def test_back_to_reserve_says_pages_freed_only_where_rss_fell():
    was = region(AT, AT + 16 * MiB, rss=4 * MiB)._replace(kind=kinds.ANON)
    kept = region(AT, AT + 16 * MiB, "---p", rss=4 * MiB)._replace(kind=kinds.RESERVED)
    name, detail = protection_change(was, kept)
    assert name == ev.RESERVE_RELEASED and "pages freed" not in detail, detail
    freed = kept._replace(rss=0)
    assert "its pages freed" in protection_change(was, freed)[1]
    # glibc maps no-access over a shrinking arena only under strict overcommit.
    arena = was._replace(kind=kinds.ARENA, object="arena heap 1")
    tail = freed._replace(object="arena heap 1")
    assert "vm.overcommit_memory=2" in protection_change(arena, tail)[1]


def test_a_new_arena_heap_is_not_said_to_be_a_new_arena():
    # arena.c new_heap: an arena whose heap is full maps another 64 MiB heap for itself.
    at = 0x7F30_0000_0000
    heap = [region(at, at + 132 * 1024), region(at + 132 * 1024, at + 64 * MiB, "---p")]
    before = snapshot(base_regions())
    after = snapshot(base_regions() + heap, taken_at=before.taken_at + 1)
    usable = next(e for e in diff_snapshots(before, after) if e.kind == kinds.ARENA)
    assert "new glibc malloc arena" not in usable.detail
    assert "arena heap 1" in usable.detail


def test_private_dirty_of_shared_memory_is_not_said_to_be_this_process_writes():
    # proc.rst: "even a page which is part of a MAP_SHARED mapping, but has only a single
    # pte mapped, i.e. is currently used by only one process, is accounted as private".
    # A PostgreSQL backend reading buffers an exited backend filled has them as
    # Private_Dirty; the column said "written by this process only", the help "its writes".
    from vmtop.tui.screens.help import HEADER
    from vmtop.tui.widgets.table_columns import CATALOGUE

    (column,) = [c for c in CATALOGUE if c.id == "private_dirty"]
    assert "written by this process" not in column.meaning
    said = dict(HEADER)["private dirty"]
    assert "whoever wrote it" in said and "not freed when this process exits" in said
    assert "whoever wrote it" in SMAPS_FIELD_DOCS["Private_Dirty"]


def test_rss_and_the_page_strip_do_not_say_untouched_shared_pages_are_out_of_ram():
    # Rss and pagemap's present bit count the pages mapped in this process's page tables:
    # a postmaster showed 17M of 278M of shared buffers, all of it in RAM (the backends
    # mapped the rest). "how much of the region is in RAM" fed the classic confusion.
    from vmtop.procfs import pagemap as pm
    from vmtop.tui.widgets.page_strip import LEGEND

    assert "how much of the region is in RAM" not in SMAPS_FIELD_DOCS["Rss"]
    assert "this process maps" in SMAPS_FIELD_DOCS["Rss"]
    assert "not touched are left out, even in RAM" in SMAPS_FIELD_DOCS["Rss"]
    not_present = dict(LEGEND)[pm.NOT_PRESENT]
    assert "not mapped here" in not_present and "never touched" not in not_present


def test_a_sysv_segment_going_is_said_to_be_detached_not_only_munmapped():
    # PostgreSQL (dynamic_shared_memory_type=sysv) detaches its segments with shmdt.
    from vmtop.model.event_words import unmapped_detail

    sysv = Region(AT, AT + 2 * MiB, "rw-s", 0, "00:01", 294922, "/SYSV3b003e40 (deleted)",
                  kind=kinds.SHM)  # fmt: skip
    assert unmapped_detail(sysv, sysv.start, sysv.end, sysv.size, False, False).startswith(
        "shmdt or munmap"
    )
    plain = sysv._replace(path="/dev/shm/PostgreSQL.70056950", inode=7)
    assert unmapped_detail(plain, plain.start, plain.end, plain.size, False, False).startswith(
        "munmap;"
    )


def test_jit_code_names_llvm_as_postgresql_uses_it():
    jit = Region(AT, AT + 64 * 1024, "r-xp", 0, "00:00", 0, "", kind=kinds.JIT)
    assert "PostgreSQL" in why_kind(jit) and "LLVM" in KIND_DESCRIPTIONS[kinds.JIT]


def test_a_sysv_segment_going_does_not_give_the_attach_count_of_before():
    # "3 attached" was said of a segment ipcs no longer listed: the count is the sample's
    # before the detach.
    from vmtop.model.event_words import unmapped_detail

    sysv = Region(AT, AT + 2 * MiB, "rw-s", 0, "00:01", 294922, "/SYSV3b003e40 (deleted)",
                  kind=kinds.SHM, object="SysV shmid 294922 key 0x3b003e40, created by PID "
                  "20406, 3 attached")  # fmt: skip
    said = unmapped_detail(sysv, sysv.start, sysv.end, sysv.size, False, False)
    assert "attached" not in said and "created by PID 20406" in said, said
