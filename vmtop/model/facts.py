"""Facts about a process that classification needs beyond its memory map.

``vmtop.procfs.facts`` reads them from ``/proc`` (or a copied tree); classification is
a pure function of the map and these, so every kind can be tested on recorded facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from vmtop.model.python_facts import PythonFacts
from vmtop.model.sysv import SysvSegment


class JavaFacts(NamedTuple):
    """What a HotSpot JVM's map is laid out by (``vmtop.model.java_regions``)."""

    # MaxHeapSize, exactly (hsperfdata), or the sizes -Xmx can have become (HotSpot
    # aligns it up to 2 to 32 MiB); empty when neither says.
    heap_sizes: tuple[int, ...] = ()
    source: str = ""  # "hsperfdata", "-Xmx", or ""
    # The compressed class space's reservation (hsperfdata; 0: none; None: unknown).
    class_space_size: int | None = None
    # The collector (hsperfdata: "G1", "Parallel", "Serial", "Shenandoah", "Z"; "":
    # unknown), and the young and old generations' reservations, which lie one after
    # the other in the heap with Parallel and Serial (None: unknown).
    collector: str = ""
    young_max: int | None = None
    old_max: int | None = None
    # The Java feature release (17, 21, 25: hsperfdata's
    # java.vm.specification.version), which lays the collector's structures out
    # (``java_gc_tables``, ``java_gc_whole``, ``java_zgc_tables``); None: unknown, and
    # every known layout is tried.
    version: int | None = None
    # The heap's bytes committed now (hsperfdata: its generations' capacities); at
    # MaxHeapSize it is committed whole (-Xms = -Xmx): no part of it no-access. None:
    # unknown.
    heap_committed: int | None = None


class KsmStat(NamedTuple):
    """A process's Kernel Samepage Merging, from /proc/PID/ksm_stat (Linux 6.1+): how a
    private mapping's memory came to be shared with no fork (``sharing_events``)."""

    merging: int  # bytes of its pages KSM merged with identical ones (ksm_merging_pages)
    # Whether any of its memory may be merged (MADV_MERGEABLE, or PR_SET_MEMORY_MERGE:
    # ksm_mergeable, ksm_merge_any); None where the kernel does not say (before 6.10).
    mergeable: bool | None


class ClassifyFacts(NamedTuple):
    # Stack pointer of every thread but the main one (None: unknown, e.g. running).
    stack_pointers: Mapping[int, int | None] = {}
    # The name of every thread but the main one (task/TID/comm: pthread_setname_np,
    # Java's and PostgreSQL's thread names), where it could be read.
    thread_names: Mapping[int, str] = {}
    # Start of an object's last file-backed rw- region -> bytes of .bss the loader maps
    # right after it, from the object's program headers. Missing or None: the file
    # could not be read, and the anonymous region after the data is taken for bss.
    bss_after_data: Mapping[int, int | None] = {}
    # Start of an object's file-backed rw- region with a read-only region of its file
    # right below -> whether that region lies in the object's RELRO (PT_GNU_RELRO,
    # rounded down to pages as the loader protects it). False: it is rodata (Go's
    # linker; a static binary no loader relocates). Missing or None: the map's shape.
    relro_below_data: Mapping[int, bool | None] = {}
    # /proc/sysvipc/shm by shmid.
    sysv: Mapping[int, SysvSegment] = {}
    # A HotSpot JVM's heap size; None for a process that maps no libjvm.so.
    java: JavaFacts | None = None
    # Whether the process runs V8 (Node: its heap pages are named by their addresses;
    # Chromium, Electron: its sandbox and heaps by their layout, model.chromium_heaps).
    v8: bool = False
    # Run under valgrind, which maps memory rwx (model.valgrind).
    valgrind: bool = False
    # Runs PostgreSQL's server (the postgres executable): its shared memory is named
    # (model.postgres_memory).
    postgres: bool = False
    # The path of its DSM control segment's file (/dev/shm/PostgreSQL.N: the one the
    # postmaster maps, procfs.postgres_dsm); "": not known, and it is named as any
    # other segment of dynamic shared memory.
    postgres_dsm_control: str = ""
    # The CPython it runs (version, build, PYTHONMALLOC's allocator): its obmalloc
    # arenas are named (model.python_arenas); None for a process that runs none.
    python: PythonFacts | None = None
    # Starts of anonymous rw-p regions on a 64 MiB boundary (a glibc arena heap's shape)
    # whose smaps VmFlags lack nr: mapped without MAP_NORESERVE, which glibc's arena
    # heaps never are (procfs.noreserve_flags says why and when it is known). Empty:
    # not known (no smaps read, strict overcommit), and the shape decides.
    mapped_without_noreserve: frozenset[int] = frozenset()
    # The sanitizer the process runs ("ASan", "TSan", "LSan"; "": none), told by its
    # run-time (procfs.sanitizer_runtime): its shadow and heap are named
    # (model.sanitizer_memory).
    sanitizer: str = ""


NO_FACTS = ClassifyFacts()
