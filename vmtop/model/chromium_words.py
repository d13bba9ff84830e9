"""What a region of Chromium's heaps is, in plain words, for the region detail: what the
memory holds and what a user can do about it (the rules that name them:
``vmtop.model.chromium_heaps``)."""

from __future__ import annotations

from vmtop.model import chromium_heaps as ch
from vmtop.model import kinds
from vmtop.model.region import Region

_FREE = "It is address space, not memory: nothing is resident until a part is committed."


def why_chromium(r: Region, size: str) -> str | None:
    """The words for a region of Chromium's heaps (``size`` written out); None for any
    other region."""
    obj = r.object
    if obj not in ch.OBJECTS:
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
    if obj == ch.V8_SMI_GUARD:
        return (
            f"No access, {size}, from the bottom of the address space to just above 4 GiB: "
            "V8 keeps it inaccessible, so that a small integer (a Smi) taken for a pointer "
            f"by a bug faults instead of reading memory. {_FREE}"
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
