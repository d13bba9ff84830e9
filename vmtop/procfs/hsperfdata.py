"""HotSpot's performance counters (hsperfdata): the sizes a JVM's map is laid out by.

A HotSpot JVM maps a file of counters, ``/tmp/hsperfdata_<user>/<pid>`` (shared,
``rw-s``, 32 KiB), that ``jstat`` reads. It holds no addresses, but it holds the
maximum heap size and the compressed class space's size exactly, constants for the
life of the JVM: with them the map tells the Java heap's reservation from the rest
(``vmtop.model.java_regions``). Reading it is reading a file: no attach, no ptrace.

Format (version 2): a 32-byte prologue (magic CA FE C0 C0, byte order, version, used
bytes, entry offset, entry count), then entries: length, name offset, vector length,
type ('J' a 64-bit integer, 'B' bytes), flags, units, variability, data offset.
"""

from __future__ import annotations

import struct

MAGIC = b"\xca\xfe\xc0\xc0"
_PROLOGUE = struct.Struct("<iiqii")  # used, overflow, mod time, entry offset, entries
_ENTRY = struct.Struct("<iiiBBBBi")
_MIB = 1 << 20


def parse_hsperfdata(data: bytes) -> dict[str, int | str]:
    """Every counter by name: a number, or the text of a byte array. ValueError when
    the bytes are no hsperfdata or an entry runs outside them."""
    if len(data) < 32 or data[:4] != MAGIC:
        raise ValueError("not a HotSpot hsperfdata file")
    order = "<" if data[4] == 1 else ">"
    used, _overflow, _stamp, offset, count = struct.unpack_from(order + "iiqii", data, 8)
    end = min(len(data), used) if used > 0 else len(data)
    entry = struct.Struct(order + "iiiBBBBi")
    out: dict[str, int | str] = {}
    for _ in range(count):
        if offset < 0 or offset + entry.size > end:
            raise ValueError("an hsperfdata entry runs past the data")
        length, name_at, vector, kind, _flags, _units, _var, data_at = entry.unpack_from(
            data, offset
        )
        if length <= 0 or offset + length > end:
            raise ValueError("an hsperfdata entry has a bad length")
        name_end = data.find(b"\0", offset + name_at, offset + length)
        if name_at <= 0 or name_end < 0:
            raise ValueError("an hsperfdata entry has no name")
        name = data[offset + name_at : name_end].decode("ascii", "replace")
        at = offset + data_at
        if kind == ord("J") and vector == 0 and 0 < data_at and at + 8 <= offset + length:
            out[name] = struct.unpack_from(order + "q", data, at)[0]
        elif kind == ord("B") and 0 < data_at and 0 <= vector and at + vector <= offset + length:
            out[name] = data[at : at + vector].split(b"\0", 1)[0].decode("utf-8", "replace")
        offset += length
    return out


def max_heap_size(counters: dict[str, int | str]) -> int | None:
    """MaxHeapSize, from the generations' maximum capacities: they add up to it for
    Parallel, Serial, Shenandoah and ZGC of one generation (JDK 17); G1 gives each of
    its two the whole heap (JDK 17: plus a few bytes of padding), and so does
    generational ZGC (JDK 21 and later: young and old share the heap), so there the
    largest, rounded down to a MiB (G1's heap is a whole number of regions, 1 MiB at
    least), is it."""
    sizes = [
        v
        for k, v in counters.items()
        if isinstance(v, int) and k.startswith("sun.gc.generation.") and k.endswith(".maxCapacity")
        and k.count(".") == 4
    ]  # fmt: skip
    if not sizes or max(sizes) <= 0:
        return None
    if _is_g1(counters) or collector(counters) == "Z":
        return max(sizes) // _MIB * _MIB
    return sum(sizes)


def heap_capacity(counters: dict[str, int | str]) -> int | None:
    """The heap's bytes committed now: the generations' capacities, added up (G1 gives
    each of its two only its own part of the one heap, in JDK 17 with a few bytes of
    padding, so rounded down to a MiB like MaxHeapSize). None for ZGC (its heap is
    named without), or where not given."""
    if collector(counters) == "Z":
        return None
    sizes = [
        v
        for k, v in counters.items()
        if isinstance(v, int) and k.startswith("sun.gc.generation.") and k.endswith(".capacity")
        and k.count(".") == 4
    ]  # fmt: skip
    if not sizes or min(sizes) < 0:
        return None
    if _is_g1(counters):
        return sum(sizes) // _MIB * _MIB
    return sum(sizes)


def class_space_size(counters: dict[str, int | str]) -> int | None:
    """The compressed class space's reservation (0: the JVM runs without one)."""
    value = counters.get("sun.gc.compressedclassspace.maxCapacity")
    return value if isinstance(value, int) and value >= 0 else None


def _is_g1(counters: dict[str, int | str]) -> bool:
    if counters.get("sun.gc.policy.name") == "GarbageFirst":
        return True
    return any(
        isinstance(v, str) and v.startswith("G1")
        for k, v in counters.items()
        if k.startswith("sun.gc.collector.") and k.endswith(".name")
    )


# The first word of each collector's names in sun.gc.collector.N.name (JDK 17 and 25:
# "G1 young collection pauses", "Parallel full collection pauses", "Serial ...",
# "Shenandoah partial"; ZGC: "Z concurrent cycle pauses" in JDK 17, generational ZGC
# "ZGC minor collection pauses", "ZGC major ..." in JDK 21 and later), and the
# collector JavaFacts names by it.
_COLLECTORS = {
    "G1": "G1",
    "Parallel": "Parallel",
    "Serial": "Serial",
    "Shenandoah": "Shenandoah",
    "Z": "Z",
    "ZGC": "Z",
}


def collector(counters: dict[str, int | str]) -> str:
    """The collector the JVM runs, "" when its counters name none known here (or two)."""
    found = {
        _COLLECTORS.get(v.split(" ", 1)[0], v)
        for k, v in counters.items()
        if isinstance(v, str) and k.startswith("sun.gc.collector.") and k.endswith(".name")
    }
    known = found & set(_COLLECTORS.values())
    return known.pop() if len(known) == 1 == len(found) else ""


def generation_max(counters: dict[str, int | str], number: int) -> int | None:
    """The reservation of generation ``number`` (0: young, 1: old); None: not given."""
    value = counters.get(f"sun.gc.generation.{number}.maxCapacity")
    return value if isinstance(value, int) and value > 0 else None


def java_version(counters: dict[str, int | str]) -> int | None:
    """The Java feature release the JVM implements (17, 21, 25), or None."""
    value = counters.get("java.property.java.vm.specification.version")
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    if text.startswith("1."):  # (Java 8 and before: "1.8")
        text = text[2:]
    return int(text) if text.isdigit() else None
