"""What a region of Chromium's heaps is, in plain words, for the region detail: what the
memory holds and what a user can do about it (the rules that name them:
``vmtop.model.chromium_heaps``)."""

from __future__ import annotations

from vmtop.model import chromium_heaps as ch
from vmtop.model import chromium_v8_ranges as cr
from vmtop.model import kinds
from vmtop.model.region import Region
from vmtop.model.v8_reservations import CODE_RANGE

_FREE = "It is address space, not memory: nothing is resident until a part is committed."


def why_chromium(r: Region, size: str) -> str | None:
    """The words for a region of Chromium's heaps (``size`` written out); None for any
    other region."""
    obj = r.object
    if obj == CODE_RANGE and r.kind == kinds.JIT and r.size == cr.CODE_RANGE_SIZE:
        return _code_range_mapped_whole(r)
    if obj not in ch.OBJECTS and obj not in cr.OBJECTS:
        return None
    if r.kind == kinds.GUARD and obj == ch.PA_GUARDED:
        return (
            f"No access, {size}: PartitionAlloc's guard pages. Each 2 MiB super page of "
            "its pools starts and ends with 16 KiB of them (its metadata page between "
            "the first ones, where it is kept in place), and each page of its metadata "
            "region has one below it: an overflow off the end of an allocation faults "
            "here. Not a thread stack's guard, though it has the shape of one."
        )
    reserved = r.kind == kinds.RESERVED
    if obj == ch.V8_SANDBOX_GUARD:
        return (
            f"No access, {size}: a guard region of the V8 sandbox (64 GiB in front of it "
            "in current V8, 32 or 36 GiB in older ones; 288 GiB behind it): an access "
            "computed from a corrupted in-sandbox offset faults here instead of reaching "
            f"memory outside the sandbox. {_FREE}"
        )
    if obj == ch.PA_LOW_RESERVE:
        return (
            f"No access, {size}, from the bottom of the address space to just above 4 GiB: "
            "PartitionAlloc, Chromium's allocator, reserves it when it starts (at the first "
            "malloc, in every Chromium process, right before its pools; it is not V8's). "
            "Nothing else can be mapped there, so a pointer cut down to 32 bits by a bug "
            f"points into it and faults instead of reaching memory. {_FREE}"
        )
    if obj == cr.POINTER_TABLES:
        if reserved:
            return (
                f"No access, {size}, in one of V8's pointer tables: room for the table to "
                "grow to its maximum size, reserved whole so that an index into it needs "
                "no bounds check. " + _FREE
            )
        return (
            "One of V8's pointer tables (external, trusted, code, CppHeap pointers, JS "
            "dispatch): objects inside the V8 sandbox refer to what lies outside it (C++ "
            "objects, code, trusted objects) by an index into such a table, never by a "
            "pointer, so that corrupted sandbox memory cannot point anywhere. Each is "
            "reserved whole (64 MiB to 512 MiB), its first 64 KiB read-only (the null "
            "entry), the rest committed 64 KiB at a time as entries are needed; which "
            "table this is, the map does not tell. It grows with the number of such "
            "references the pages' objects hold."
        )
    if obj == cr.TRUSTED_RANGE:
        if reserved:
            return (
                f"No access, {size}, in V8's trusted range (1 GiB at a 4 GiB boundary, "
                "outside the V8 sandbox): room for its trusted space to grow. " + _FREE
            )
        return (
            "V8's trusted space: the objects V8 keeps outside its sandbox so that "
            "JavaScript or WebAssembly code that corrupts memory inside it cannot reach "
            "them (bytecode, compiled code's metadata, other tables V8 relies on), in a "
            "1 GiB range reserved at a 4 GiB boundary, committed as it fills. It grows "
            "with the amount of script the pages run."
        )
    if obj == ch.V8_SANDBOX:
        if not reserved:
            return (
                f"Committed memory, {size}, inside the V8 sandbox but outside its "
                "JavaScript heap and ArrayBuffer partition, and not read-write: what V8 "
                "keeps here the map does not tell."
            )
        return (
            f"No access, {size}: unused address space of the V8 sandbox, the 1 TiB V8 "
            "reserves whole so that a bug in JavaScript or WebAssembly code can corrupt "
            "only memory inside it (the JavaScript heap, ArrayBuffers, WebAssembly "
            "memories). The no-access rest of a WebAssembly memory's 8 GiB reservation "
            "is merged into it by the kernel, and the last such region runs on into "
            f"the 288 GiB guard behind the sandbox. {_FREE} It is why a renderer's "
            "virtual size is over a terabyte: only RSS counts."
        )
    if obj == ch.V8_HEAP:
        if reserved:
            return (
                f"No access, {size}, inside V8's pointer-compression cage (the first 4 GiB "
                "of the sandbox): room for the JavaScript heap to grow. " + _FREE
            )
        return (
            "The JavaScript heap (V8): its pointer-compression cage, the first 4 GiB of "
            "the V8 sandbox, holds every JavaScript object, string, array and closure of "
            "this renderer's pages and workers, committed in 256 KiB pages as the heap "
            "grows (the read-only pages: V8's read-only space, from its snapshot). "
            "DevTools' Memory panel takes a heap snapshot of it; it shrinks when garbage "
            "collection frees what the page no longer references."
        )
    if obj == ch.ARRAY_BUFFERS:
        if reserved:
            return (
                f"No access, {size}, in PartitionAlloc's ArrayBuffer partition (16 GiB "
                "reserved inside the V8 sandbox): free room for ArrayBuffers. " + _FREE
            )
        return (
            "ArrayBuffer memory: the bytes of the page's ArrayBuffers, typed arrays and "
            "DataViews (also decoded images and media buffers JavaScript reads), from "
            "PartitionAlloc's ArrayBuffer partition, 16 GiB inside the V8 sandbox. A big "
            "buffer is a region of its own, 16 KiB past a 2 MiB boundary; small ones "
            "share 2 MiB super pages. The page's JavaScript holds it: it is freed when "
            "the buffers are garbage collected (DevTools' heap snapshot lists them)."
        )
    if obj == ch.SANDBOX_BUFFER:
        return (
            "Read-write memory V8 mapped into its sandbox itself, outside the JavaScript "
            "heap and the ArrayBuffer partition: a WebAssembly memory (V8 reserves 8 GiB "
            "for each and commits the pages the module has, initial and grown) or a "
            "resizable ArrayBuffer (new ArrayBuffer(n, {maxByteLength})). Both reserve "
            "more than they commit, and the kernel merges the no-access rest with the "
            "sandbox's unused space, so the map tells neither which of the two it is nor "
            "where its reservation ends. Freed when the page drops the memory or buffer "
            "and it is garbage collected."
        )
    if obj == ch.WASM_MEMORY:
        if reserved:
            return (
                f"No access, {size}: the rest of a WebAssembly memory's 8 GiB reservation, "
                "room for memory.grow and the guard region that makes an out-of-bounds "
                "access fault (so compiled WebAssembly needs no bounds checks). " + _FREE
            )
        return (
            "A WebAssembly memory: the pages it has (its initial size and what "
            "memory.grow added), at the start of its own 8 GiB reservation, the rest of "
            "which follows it with no access. Freed when the module's memory is garbage "
            "collected."
        )
    if obj == ch.PA_POOLS:
        return (
            f"No access, {size}, across PartitionAlloc's regular and BRP pools (32 GiB "
            "together, at a 32 GiB boundary): super pages not handed out yet in either. " + _FREE
        )
    if obj in (ch.PA_REGULAR, ch.PA_BRP):
        pool = "BRP" if obj == ch.PA_BRP else "regular"
        if reserved:
            return (
                f"No access, {size}, in PartitionAlloc's {pool} pool: super pages not "
                "handed out yet, or slot spans PartitionAlloc decommitted (gave back to "
                f"the kernel) when they emptied. {_FREE}"
            )
        held = (
            "the partitions with BackupRefPtr (use-after-free protection) on: in Chrome, "
            "malloc and C++ new"
            if pool == "BRP"
            else "the partitions without BackupRefPtr (Blink's own among them)"
        )
        return (
            f"PartitionAlloc, Chromium's allocator: its {pool} pool, which holds {held}. "
            "The regular and BRP pools are 16 GiB each, reserved together at a 32 GiB "
            "boundary and handed out in 2 MiB super pages of slot spans, one size of "
            "object per span. Which code allocated it the map cannot tell: "
            "chrome://tracing's memory-infra category (with heap profiling) can."
        )
    if obj == ch.PA_METADATA:
        if reserved:
            return (
                f"No access, {size}, in PartitionAlloc's metadata region: room for the "
                f"metadata of super pages not handed out yet. {_FREE}"
            )
        return (
            "PartitionAlloc's metadata: one 4 KiB page for each 2 MiB super page of its "
            "pools (which slot spans it has, their free lists), kept in a 16 GiB region "
            "of its own, outside the pools, so that an overflow in the heap cannot reach "
            "it (Chromium 145+, where its field trial is on)."
        )
    if obj == ch.OILPAN:
        if reserved:
            return (
                f"No access, {size}, in Oilpan's 16 GiB cage: room for Blink's "
                "garbage-collected heap to grow. " + _FREE
            )
        return (
            "Oilpan (cppgc), Blink's garbage-collected C++ heap: the DOM's nodes, their "
            "styles and layout objects and the other C++ objects of the page's document "
            "that JavaScript can reach, in one 16 GiB cage committed in 128 KiB pages. It "
            "grows with the document: a bigger or leaked DOM (DevTools' heap snapshot "
            "shows the nodes JavaScript still holds, 'Detached' ones among them)."
        )
    return None


def _code_range_mapped_whole(r: Region) -> str:
    """A V8 code range that is one read-write-execute mapping, as Chromium's renderers
    map it (Node's starts with a read-write page header, ``explain``'s words)."""
    brk = (
        " The kernel calls it [heap] because it covers the program break (the address "
        "/proc/PID/stat gives as start_brk), which Chromium never moves: it is no brk "
        "heap."
        if r.path == cr.BRK_NAME
        else ""
    )
    return (
        "V8's code range: 512 MiB reserved whole near the executable, so that compiled "
        "code (its baseline and optimizing compilers' functions, compiled regular "
        "expressions) and the embedded builtins are in reach of near calls. Chromium maps "
        "it read-write-execute whole; only the pages V8 has written code to are resident "
        "(RSS), usually well under a megabyte: the rest is address space." + brk
    )
