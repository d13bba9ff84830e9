"""A JVM's CDS archive and class space where JDK 24 and later lay them out
(vmtop.model.java_class_space), checked against NMT ("Shared class space", "Class"):
the CDS archive's first page, no-access (its protection zone), and without CDS the
class space on its own, low, apart from the heap (tests/fixtures/jvm_native: the
jdk25_*_cds_off of Temurin 25, and z_1g_cds_off of OpenJDK 17, whose ZGC puts it at
2 GiB).

Before, the page was reserved address space of nothing, and the class space was named
only right after the CDS archive or right after the heap."""

from __future__ import annotations

import glob

import pytest
from test_java_native_regions import classified, live_jvm, recorded, truth

from vmtop.model import kinds
from vmtop.model.classify import classify_regions
from vmtop.model.java_regions import CDS_ARCHIVE, CLASS_SPACE
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot

MIB, GIB = 1 << 20, 1 << 30
ALONE = ["z_1g_cds_off", "jdk25_z_1g_cds_off", "jdk25_g1_2g_cds_off"]
ALONE += ["jdk25_g1_1g_cds_off_compact_headers"]  # (a protection zone at its base)


def class_space(regions) -> list[tuple[int, int]]:
    named = [r for r in regions if r.object == CLASS_SPACE]
    assert all(a.end == b.start for a, b in zip(named, named[1:], strict=False))
    return [(named[0].start, named[-1].end)] if named else []


def nmt(config: str, what: str) -> list[tuple[int, int]]:
    return [(t.start, t.end) for t in truth(config) if t.what == what]


@pytest.mark.parametrize("config", ALONE)
def test_a_class_space_on_its_own_is_named_where_nmt_says(tmp_path, config):
    regions = classified(tmp_path, config)
    assert class_space(regions) == nmt(config, "Class")
    parts = [r for r in regions if r.object == CLASS_SPACE]
    assert all(r.kind == (kinds.ANON if r.perms == "rw-p" else kinds.RESERVED) for r in parts)
    from vmtop.model.explain import why_kind

    assert "or on its own, low" in why_kind(parts[0])


def moved(regions, lo: int, hi: int, to: int):
    """Copies of the regions in [lo, hi), moved to start at ``to``."""
    return [
        r._replace(start=r.start - lo + to, end=r.end - lo + to)
        for r in regions
        if lo <= r.start < hi
    ]


def test_a_class_space_on_its_own_is_named_only_where_the_map_leaves_no_doubt(tmp_path):
    _, regions, facts = recorded(tmp_path, "jdk25_g1_2g_cds_off")
    ((lo, hi),) = nmt("jdk25_g1_2g_cds_off", "Class")
    # The heap not known (no size): the class space is not looked for on its own.
    unknown = facts._replace(java=facts.java._replace(heap_sizes=()))
    assert not class_space(classify_regions(regions, unknown))
    # A second run of its shape below 32 GiB: neither is named.
    twice = sorted(regions + moved(regions, lo, hi, 8 * GIB), key=lambda r: r.start)
    assert not class_space(classify_regions(twice, facts))
    # Above 32 GiB (no pointer without a base reaches it): not named.
    others = [r for r in regions if not lo <= r.start < hi]
    high = sorted(others + moved(regions, lo, hi, 64 * GIB), key=lambda r: r.start)
    assert not class_space(classify_regions(high, facts))


@pytest.mark.parametrize("config", ["jdk25_g1_1g", "jdk25_z_1g", "jdk25_serial_1g"])
def test_the_cds_archives_protection_zone_is_named(tmp_path, config):
    regions = classified(tmp_path, config)
    ((lo, hi),) = nmt(config, "Shared class space")
    (zone,) = [r for r in regions if r.start == lo]
    assert (zone.end - zone.start, zone.kind, zone.object) == (4096, kinds.RESERVED, CDS_ARCHIVE)
    assert regions[regions.index(zone) + 1].path.endswith(".jsa")
    from vmtop.model.explain import why_kind

    assert "no class's compressed pointer is 0" in why_kind(zone)


def test_a_page_below_the_archive_is_its_zone_only_on_a_16_mib_boundary(tmp_path):
    _, regions, facts = recorded(tmp_path, "jdk25_g1_1g")
    ((lo, _),) = nmt("jdk25_g1_1g", "Shared class space")
    (k,) = [i for i, r in enumerate(regions) if r.start == lo]
    zone, jsa, tail = regions[k : k + 3]
    page = 4096

    def zones(parts) -> list:
        out = classify_regions(regions[:k] + parts + regions[k + 3 :], facts)
        return [r for r in out if r.object == CDS_ARCHIVE and r.end == parts[1].start]

    assert zones([zone, jsa, tail])
    # Two pages (from one page below the boundary): not the zone.
    assert not zones([zone._replace(start=lo - page), jsa, tail])
    # One page off the boundary (the archive mapped a page higher): not the zone.
    up = [r._replace(start=r.start + page, end=r.end + page) for r in (zone, jsa)]
    assert not zones([*up, tail._replace(start=tail.start + page)])


# -- live: JDK 25 without CDS, NMT as the truth ------------------------------------------

JAVA25 = sorted(glob.glob("/usr/lib/jvm/temurin-25*/bin/java"))
LIVE = [
    ["-XX:+UseZGC", "-Xmx1g", "-Xshare:off"],
    ["-Xmx2g", "-Xshare:off", "-XX:+UseCompactObjectHeaders"],
]


@pytest.mark.live
@pytest.mark.skipif(not JAVA25, reason="no JDK 25 here (/usr/lib/jvm/temurin-25*)")
@pytest.mark.parametrize("args", LIVE, ids=[" ".join(a) for a in LIVE])
def test_a_live_class_space_on_its_own_is_named_where_nmt_says(spawn, args):
    pid, _, reserved = live_jvm(spawn, args, ["Sleeper"], JAVA25[-1])
    regions = list(take_snapshot(ProcFS(), pid).regions)
    assert class_space(regions) == [(t.start, t.end) for t in reserved if t.what == "Class"]
