"""The smaps field explanations, checked against the kernel's
Documentation/filesystems/proc.rst ("/proc/PID/smaps") on the points that are easy to
get wrong."""

from __future__ import annotations

from vmtop.model.smaps_fields_doc import SMAPS_FIELD_DOCS, describe_field


def test_clean_shared_pages_of_shmem_are_not_said_to_be_re_read_from_a_file():
    text = describe_field("Shared_Clean")
    # A file's clean pages can be dropped and read again; shared anonymous / shmem
    # pages have no file to read them from: only swapping frees them.
    assert "file" in text and "shmem" in text and "swap" in text


def test_private_dirty_says_where_each_kind_of_dirty_page_goes():
    text = describe_field("Private_Dirty")
    assert "written back" in text  # a MAP_SHARED file mapping's dirty pages
    assert "swap" in text and "copy-on-write" in text  # anonymous / private file copies
    assert "not dropped" not in text


def test_kernel_page_size_is_the_page_size_backing_the_region():
    text = describe_field("KernelPageSize")
    assert "smallest" not in text
    assert "back" in text and "hugetlb" in text and "2M" in text.replace(" ", "")


def test_replayed_figures_are_said_of_their_moment():
    assert "maps now" in describe_field("Rss")
    recorded = describe_field("Rss", recorded=True)
    assert "at that moment" in recorded and " now" not in recorded
    for name in SMAPS_FIELD_DOCS:
        said = describe_field(name, recorded=True)
        assert "right now" not in said and "currently" not in said, name


def test_mmu_page_size_says_it_matches_the_kernels_except_on_some_systems():
    # proc.rst: KernelPageSize is the page size the kernel backs a VMA with; the MMU's
    # is the same except e.g. on PPC64, where a 64K-page kernel may use 4K MMU pages.
    text = describe_field("MMUPageSize")
    assert "MMU" in text and "same as KernelPageSize" in text
    assert "PPC64" in text and "64K" in text and "4K" in text
    assert "KernelPageSize's" not in text
