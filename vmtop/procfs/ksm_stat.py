"""A process's Kernel Samepage Merging, from /proc/PID/ksm_stat (Linux 6.1+).

KSM merges identical private pages into one shared page: a private mapping's memory
becomes shared with no fork, and a write to a merged page gets its own copy back, as
copy-on-write after a fork does. Only the process's counts say which it was
(``sharing_events``); smaps' per-region KSM line would need a search of the whole text.
A small file, read with smaps.
"""

from __future__ import annotations

import os

from vmtop.model.facts import KsmStat
from vmtop.procfs.errors import ProcError
from vmtop.procfs.reader import ProcFS

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def parse_ksm_stat(data: bytes, page_size: int = PAGE_SIZE) -> KsmStat | None:
    """The merged bytes and whether any memory may be merged; None where the text does
    not have ``ksm_merging_pages`` (not what the kernel prints)."""
    fields: dict[bytes, bytes] = {}
    for line in data.splitlines():
        name, _, value = line.partition(b" ")
        fields[name.rstrip(b":")] = value.strip()  # ("ksm_mergeable: yes")
    pages = fields.get(b"ksm_merging_pages", b"")
    if not pages.isdigit():
        return None
    flags = [fields.get(name) for name in (b"ksm_mergeable", b"ksm_merge_any")]
    if None in flags:
        mergeable = None  # (ksm_mergeable is 6.10+)
    else:
        mergeable = b"yes" in flags
    return KsmStat(int(pages) * page_size, mergeable)


def read_ksm_stat(procfs: ProcFS, pid: int) -> KsmStat | None:
    """None where it cannot be read: an older kernel, a copied tree without it, or a
    process gone or refused (its smaps read says so)."""
    try:
        data = procfs.read_optional(pid, "ksm_stat")
    except ProcError:
        return None
    return parse_ksm_stat(bytes(data)) if data else None
