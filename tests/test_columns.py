"""RegionColumns against Region tuples: the same regions, the same fields, the same
kinds, whichever way a snapshot was read.

The tuple path (the whole smaps text parsed at once, classified as a list) is the older
one, checked against pmap, readelf and hand-written expectations elsewhere; the columnar
path (read in pieces, parsed a piece at a time into columns, classified as columns) must
agree with it on every fixture tree and on generated maps.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from conftest import FIXTURES, PROC_FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmtop.model.classify import classify_columns, classify_regions
from vmtop.model.column_fields import _NAMES, _NUMBERS
from vmtop.model.columns import RegionColumns
from vmtop.model.facts import ClassifyFacts
from vmtop.model.region import Region
from vmtop.procfs.errors import ProcError
from vmtop.procfs.parse_maps import parse_maps, parse_maps_parts, parse_smaps, parse_smaps_parts
from vmtop.procfs.pieces import parse_in_pieces, parse_in_pieces_to_columns
from vmtop.procfs.reader import ProcFS
from vmtop.procfs.snapshot import take_snapshot


def trees() -> list[tuple[Path, int]]:
    """(proc root, pid) of every recorded or hand-made process with a map."""
    out = []
    for root in [PROC_FIXTURES, *sorted((FIXTURES / "real").iterdir())]:
        if not root.is_dir():
            continue
        for d in sorted(root.iterdir()):
            if d.name.isdigit() and ((d / "smaps").is_file() or (d / "maps").is_file()):
                out.append((root, int(d.name)))
    return out


def snapshots(root: Path, pid: int, smaps: bool):
    procfs = ProcFS(str(root))
    try:
        whole = take_snapshot(procfs, pid, smaps=smaps)
    except ProcError as e:
        with pytest.raises(type(e)):
            take_snapshot(procfs, pid, smaps=smaps, keep_text=False)
        pytest.skip(f"no snapshot of this tree: {e}")
    pieces = take_snapshot(procfs, pid, smaps=smaps, keep_text=False)
    return whole, pieces


TREES = trees()


def test_the_corpus_is_there():
    assert len(TREES) >= 15  # the hand-made trees and the real recordings


@pytest.mark.parametrize("smaps", [True, False], ids=["smaps", "maps"])
@pytest.mark.parametrize(("root", "pid"), TREES, ids=[f"{r.name}/{p}" for r, p in TREES])
def test_columnar_snapshot_equals_tuple_snapshot(root, pid, smaps):
    whole, pieces = snapshots(root, pid, smaps)
    assert isinstance(pieces.regions, RegionColumns)
    assert isinstance(whole.regions, tuple)
    assert list(pieces.regions) == list(whole.regions)  # every field, kinds included
    assert [pieces.regions[i] for i in range(len(whole.regions))] == list(whole.regions)
    assert pieces.regions == whole.regions
    assert pieces.totals == whole.totals
    assert pieces.has_smaps == whole.has_smaps


@pytest.mark.parametrize(("root", "pid"), TREES, ids=[f"{r.name}/{p}" for r, p in TREES])
def test_columns_answer_per_field_without_regions(root, pid):
    whole, pieces = snapshots(root, pid, True)
    columns = pieces.regions
    for i, name in enumerate(Region._fields):
        assert list(columns.column(name)) == [r[i] for r in whole.regions], name
    for name in ("rss", "pss", "swap", "private_dirty", "start", "end"):
        assert columns.total(name) == sum(r[Region._fields.index(name)] or 0 for r in whole.regions)
    for r in whole.regions[:: max(1, len(whole.regions) // 20)]:
        assert columns.index_at(r.start) == whole.regions.index(r)
        assert columns[columns.index_containing(r.end - 1)] == r
        assert r in columns
    assert columns.index_at(whole.regions[0].start + 1) is None


def test_columns_survive_pickle_and_compare_by_content():
    root, pid = TREES[0]
    whole, pieces = snapshots(root, pid, True)
    again = pickle.loads(pickle.dumps(pieces.regions))
    assert again == pieces.regions and again is not pieces.regions
    rebuilt = RegionColumns.from_regions(reversed(list(reversed(whole.regions))))
    assert rebuilt == pieces.regions
    changed = list(whole.regions)
    changed[1] = changed[1]._replace(rss=(changed[1].rss or 0) + 4096)
    assert RegionColumns.from_regions(changed) != pieces.regions


# -- generated maps ------------------------------------------------------------------

PERMS = ["r--p", "rw-p", "r-xp", "---p", "rw-s", "r--s"]
NAMES = [
    ("00:00", 0, ""),
    ("00:00", 0, "[heap]"),
    ("00:00", 0, "[stack]"),
    ("00:00", 0, "[anon: glibc: malloc arena]"),
    ("08:01", 1234, "/usr/lib/libc.so.6"),
    ("08:01", 1234, "/usr/lib/libc.so.6"),
    ("08:01", 99, "/data/index file (deleted)"),
    ("00:01", 7, "/SYSV00000000"),
    ("00:05", 3, "/dev/nvidiactl"),
    ("00:05", 4, "/dev/nvidia-uvm"),  # with it, the CUDA rules apply (vmtop.model.cuda)
    ("00:01", 8, "/dev/zero (deleted)"),
]


@st.composite
def maps_texts(draw) -> bytes:
    n = draw(st.integers(1, 60))
    at = 0x400000
    lines = []
    for _ in range(n):
        at += draw(st.sampled_from([0, 0, 4096, 1 << 20, 64 << 20]))
        # Some starts on a 64 MiB boundary (arena candidates), some sizes a page.
        if draw(st.booleans()):
            at = (at + (64 << 20) - 1) & ~((64 << 20) - 1)
        size = draw(st.sampled_from([4096, 8192, 65536, 1 << 20, 64 << 20]))
        perms = draw(st.sampled_from(PERMS))
        dev, inode, path = draw(st.sampled_from(NAMES))
        offset = draw(st.sampled_from([0, 4096, 0x1000000])) if inode else 0
        line = f"{at:x}-{at + size:x} {perms} {offset:08x} {dev} {inode}"
        lines.append(f"{line:<73}{path}".rstrip() if path else line)
        at += size
    return ("\n".join(lines) + "\n").encode()


def smaps_of(maps: bytes, figures: list[int]) -> bytes:
    out = []
    for i, line in enumerate(maps.splitlines()):
        kb = figures[i % len(figures)]
        out.append(line.decode())
        for key in ("Size", "KernelPageSize", "MMUPageSize"):
            out.append(f"{key + ':':<16}{4:>8} kB")
        for key in ("Rss", "Pss", "Pss_Dirty", "Shared_Clean", "Shared_Dirty"):
            out.append(f"{key + ':':<16}{kb:>8} kB")
        for key in ("Private_Clean", "Private_Dirty", "Referenced", "Anonymous", "Swap"):
            out.append(f"{key + ':':<16}{kb // 2:>8} kB")
        out.append(f"{'VmFlags:':<16}rd wr mr mw me ac")
    return ("\n".join(out) + "\n").encode()


def cut_into(text: bytes, sizes: list[int]) -> list[bytes]:
    pieces, at = [], 0
    for size in sizes:
        pieces.append(text[at : at + size])
        at += size
    pieces.append(text[at:])
    return [p for p in pieces if p]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    maps=maps_texts(),
    figures=st.lists(st.integers(0, 5000), min_size=1, max_size=4),
    later=st.lists(st.integers(0, 5000), min_size=1, max_size=4),
    sizes=st.lists(st.integers(1, 4000), max_size=8),
    change=st.sampled_from(["none", "figures", "one more", "one less", "renamed"]),
    use_smaps=st.booleans(),
)
def test_a_parse_like_the_last_shares_what_did_not_change(
    maps, figures, later, sizes, change, use_smaps
):
    """The columns of a parse handed the last parse's columns (``like``): the same
    regions as a parse without them, and each column that holds what the last one held
    is that column itself."""
    lines = maps.splitlines(keepends=True)
    if change == "one more":
        last = lines[-1].split(b" ")[0].split(b"-")[1]
        end = int(last, 16)
        lines.append(b"%x-%x rw-p 00000000 00:00 0\n" % (end + 4096, end + 8192))
    elif change == "one less" and len(lines) > 1:
        lines.pop(len(lines) // 2)
    elif change == "renamed":
        lines[0] = lines[0].rstrip(b"\n") + b" /renamed\n"
    now = b"".join(lines)
    parse = parse_smaps if use_smaps else parse_maps
    parts = parse_smaps_parts if use_smaps else parse_maps_parts

    def text(m, f):
        return smaps_of(m, f) if use_smaps else m

    before = parse_in_pieces_to_columns(cut_into(text(maps, figures), sizes), parse, parts)
    after_figures = later if change == "figures" else figures
    pieces = cut_into(text(now, after_figures), sizes)
    got = parse_in_pieces_to_columns(pieces, parse, parts, like=before)
    alone = parse_in_pieces_to_columns(pieces, parse, parts)
    assert list(got) == list(alone) == parse(text(now, after_figures))
    groups = ("numbers", "names") + (("figures",) if use_smaps else ())
    for group in groups:
        for k, (old, new) in enumerate(
            zip(getattr(before, group), getattr(got, group), strict=True)
        ):
            same_table = group != "names" or before.tables[k] == got.tables[k]
            if len(old) == len(new) and list(old) == list(new) and same_table:
                assert new is old, group
            else:
                assert new is not old


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    maps=maps_texts(),
    figures=st.lists(st.integers(0, 5000), min_size=1, max_size=4),
    sizes=st.lists(st.integers(1, 4000), max_size=8),
    stack_pointers=st.dictionaries(
        st.integers(100, 110), st.none() | st.integers(0x400000, 0x7FFFFFFFFFFF), max_size=3
    ),
    use_smaps=st.booleans(),
)
def test_generated_maps_parse_and_classify_alike(maps, figures, sizes, stack_pointers, use_smaps):
    text = smaps_of(maps, figures) if use_smaps else maps
    parse = parse_smaps if use_smaps else parse_maps
    pieces = cut_into(text, sizes)
    regions = parse_in_pieces(pieces, parse)
    columns = parse_in_pieces_to_columns(pieces, parse)
    assert list(columns) == regions
    # and the parse that makes no Region (what reading a live process uses)
    parts = parse_smaps_parts if use_smaps else parse_maps_parts
    assert list(parse_in_pieces_to_columns(pieces, parse, parts)) == regions
    facts = ClassifyFacts(stack_pointers=stack_pointers, bss_after_data={}, sysv={})
    expected = classify_regions(regions, facts)
    got = classify_columns(columns, facts)
    assert list(got) == expected
    assert got == RegionColumns.from_regions(expected)


CHANGES = {
    "same": lambda r, k: r,
    "kind": lambda r, k: r._replace(kind=f"kind{k}"),
    "object": lambda r, k: r._replace(object=f"o{k}"),
    "figures": lambda r, k: r._replace(rss=k * 4096, pss=None),
    "all": lambda r, k: r._replace(kind=f"kind{k}", object=f"o{k}", tid=k, rss=k * 4096),
}


def array_of(columns: RegionColumns, name: str):
    if name in _NUMBERS:
        return columns.numbers[_NUMBERS.index(name)]
    return columns.names[_NAMES.index(name)]


@settings(max_examples=80, deadline=None)
@given(
    maps=maps_texts(),
    figures=st.booleans(),
    picks=st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(list(CHANGES))), max_size=6),
)
def test_replaced_rows_are_what_a_list_gives(maps, figures, picks):
    regions = classify_regions(parse_maps(maps))
    if figures:
        regions = [r._replace(rss=4096 * k, swap=0) for k, r in enumerate(regions)]
    columns = RegionColumns.from_regions(regions)
    rows = {}
    for k, (pick, change) in enumerate(picks):
        i = pick % len(regions)
        rows[i] = CHANGES[change](regions[i], k)
    expected = [rows.get(i, r) for i, r in enumerate(regions)]
    replaced = columns.replaced(rows)
    assert list(replaced) == expected
    assert [replaced[i] for i in range(len(expected))] == expected
    assert list(columns) == regions  # the original is untouched
    # A column no replaced row changes is shared, not copied.
    unchanged = {f for f in ("start", "end", "offset", "inode", "perms", "dev", "path")}
    same = [
        f
        for f in ("kind", "object")
        if all(getattr(rows[i], f) == getattr(regions[i], f) for i in rows)
    ]
    unchanged.update(same)
    for name in unchanged:
        assert array_of(replaced, name) is array_of(columns, name), name


# -- what the views work out from columns -----------------------------------------------


@pytest.mark.parametrize(("root", "pid"), TREES, ids=[f"{r.name}/{p}" for r, p in TREES])
def test_summary_and_bar_from_columns_equal_those_from_tuples(root, pid):
    from vmtop.tui.widgets import bar_layout as bl
    from vmtop.tui.widgets.kind_summary import kind_totals

    for smaps in (True, False):
        whole, pieces = snapshots(root, pid, smaps)
        assert kind_totals(pieces.regions) == kind_totals(whole.regions)
        for width in (7, 40, 158):
            for mode in (bl.COMPACT, bl.SCALE):
                for zoom in (0, 1):
                    view = bl.BarView(width, mode, zoom, len(whole.regions) // 2, None)
                    laid = []
                    for regions in (whole.regions, pieces.regions):
                        user = bl.user_regions(regions)
                        layout = bl.layout_for(user, bl.user_top(regions), view)
                        laid.append((layout.cells, layout.axis, layout.kinds_in_view))
                    assert laid[0] == laid[1], (width, mode, zoom)
        top = bl.user_top(whole.regions)
        views = [(0, top), (0, top // 2), (top // 2, top)]
        r = whole.regions[len(whole.regions) // 3]
        views.append((max(0, r.start - (1 << 24)), r.end + (1 << 24)))
        for view in views:
            for focus in (None, r.start, view[0], (view[0] + view[1]) // 2):
                got = bl.scale_zoom_view(bl.user_regions(pieces.regions), view, focus)
                assert got == bl.scale_zoom_view(bl.user_regions(whole.regions), view, focus)


@settings(max_examples=80, deadline=None)
@given(
    maps=maps_texts(),
    figures=st.lists(st.integers(0, 5000), min_size=1, max_size=4),
    no_figures=st.sets(st.integers(0, 59), max_size=10),
)
def test_kind_totals_with_some_figures_missing(maps, figures, no_figures):
    from vmtop.tui.widgets.kind_summary import kind_totals

    regions = classify_regions(parse_smaps(smaps_of(maps, figures)))
    blank = dict.fromkeys(("rss", "pss", "private_dirty", "swap"))
    regions = [r._replace(**blank) if i in no_figures else r for i, r in enumerate(regions)]
    assert kind_totals(RegionColumns.from_regions(regions)) == kind_totals(regions)


@settings(max_examples=80, deadline=None)
@given(
    maps=maps_texts(),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(["rss", "drop", "kind"]))),
)
def test_recording_deltas_of_columns_are_those_of_tuples(maps, edits):
    from vmtop.record.region_delta import region_delta

    old = classify_regions(parse_smaps(smaps_of(maps, [4, 8])))
    new = list(old)
    for pick, what in edits:
        if not new:
            break
        i = pick % len(new)
        if what == "rss":
            new[i] = new[i]._replace(rss=(new[i].rss or 0) + 4096)
        elif what == "kind":
            new[i] = new[i]._replace(kind="reserved", object="x")
        else:
            del new[i]
    # Fresh tuples on both sides (no object shared), as columns hand them out.
    expected = region_delta([r._replace() for r in old], [r._replace() for r in new])
    got = region_delta(RegionColumns.from_regions(old), RegionColumns.from_regions(new))
    assert got.removed == expected.removed
    assert got.put == expected.put
    assert got.resident == expected.resident
    assert sorted(got.gone) == sorted(expected.gone)
    assert sorted(got.came) == sorted(expected.came)


@settings(max_examples=60, deadline=None)
@given(first=maps_texts(), second=maps_texts(), use_smaps=st.booleans())
def test_a_torn_read_in_pieces_is_resolved_as_the_tuples_resolve_it(first, second, use_smaps):
    # The second piece goes back to lower addresses: the map changed while it was read.
    texts = [smaps_of(first, [4]), smaps_of(second, [8])] if use_smaps else [first, second]
    parse = parse_smaps if use_smaps else parse_maps
    parts = parse_smaps_parts if use_smaps else parse_maps_parts
    expected = parse_in_pieces(texts, parse)
    assert list(parse_in_pieces_to_columns(texts, parse, parts)) == expected


@pytest.mark.parametrize(("root", "pid"), TREES, ids=[f"{r.name}/{p}" for r, p in TREES])
def test_table_rows_from_columns_equal_those_from_tuples(root, pid):
    from vmtop.tui.widgets.table_model import SORT_COLUMNS, build_rows, regions_in

    whole, pieces = snapshots(root, pid, True)
    some = whole.regions[len(whole.regions) // 2]
    changes = {some.start: pieces_change()}
    filters = ["", "rw", "lib", "anon", f"{some.start:x}"[:6], f"0x{some.start + 1:x}", "nothing"]
    for text in filters:
        for sort in SORT_COLUMNS:
            for descending in (False, True):
                kwargs = {"sort": sort, "descending": descending, "filter_text": text}
                got = build_rows(pieces.regions, changes, **kwargs)
                assert list(got) == list(build_rows(whole.regions, changes, **kwargs)), kwargs
                assert regions_in(got) == len(list(got))


@pytest.mark.parametrize(("root", "pid"), TREES, ids=[f"{r.name}/{p}" for r, p in TREES])
def test_grouped_table_rows_from_columns_equal_those_from_tuples(root, pid):
    """Grouped by object, closed and open, every sort and some filters: the groups
    added up from columns run by run are those added up from Regions."""
    from vmtop.tui.widgets.table_model import (
        SORT_COLUMNS,
        GroupedRows,
        GroupRow,
        build_rows,
        filter_regions,
        group_key,
        regions_in,
    )

    for smaps in (True, False):
        whole, pieces = snapshots(root, pid, smaps)
        regions = whole.regions
        some = regions[len(regions) // 2]
        other = regions[len(regions) // 3]
        changes = {some.start: pieces_change(), other.start: pieces_change()}
        keys = {group_key(r)[0] for r in regions}
        for text in ["", "rw", "lib", f"0x{some.start + 1:x}", "nothing"]:
            for expanded in (frozenset(), frozenset(keys), frozenset([group_key(some)[0]])):
                for sort in SORT_COLUMNS:
                    for descending in (False, True):
                        kwargs = {
                            "sort": sort,
                            "descending": descending,
                            "filter_text": text,
                            "grouped": True,
                            "expanded": expanded,
                        }
                        got = build_rows(pieces.regions, changes, **kwargs)
                        assert isinstance(got, GroupedRows)
                        expected = build_rows(regions, changes, **kwargs)
                        assert list(got) == expected, kwargs
                        assert [got[i] for i in range(len(got))] == expected
                        # The title's count: every region of every group shown.
                        shown = len(filter_regions(regions, text))
                        assert regions_in(got) == regions_in(expected) == shown
                        if expected and isinstance(expected[0], GroupRow):
                            assert got.row_of_group(expected[0].key) == 0
                        member = next(
                            (k for k, r in enumerate(expected) if r not in got.groups), None
                        )
                        if member is not None:
                            assert got.row_of_start(expected[member].region.start) == member


@settings(max_examples=60, deadline=None)
@given(
    maps=maps_texts(),
    figures=st.lists(st.integers(0, 5000), min_size=1, max_size=4),
    no_figures=st.sets(st.integers(0, 59), max_size=10),
    sort=st.sampled_from(["start", "size", "rss", "dirty", "name"]),
)
def test_grouped_rows_with_some_figures_missing(maps, figures, no_figures, sort):
    from vmtop.tui.widgets.table_model import build_rows, group_key

    regions = classify_regions(parse_smaps(smaps_of(maps, figures)))
    blank = dict.fromkeys(("rss", "pss", "private_dirty", "shared_dirty", "swap"))
    regions = [r._replace(**blank) if i in no_figures else r for i, r in enumerate(regions)]
    expanded = frozenset(group_key(r)[0] for r in regions[::2])
    kwargs = {"sort": sort, "grouped": True, "expanded": expanded}
    got = build_rows(RegionColumns.from_regions(regions), {}, **kwargs)
    assert list(got) == build_rows(regions, {}, **kwargs)


@pytest.mark.parametrize(("root", "pid"), TREES, ids=[f"{r.name}/{p}" for r, p in TREES])
def test_objects_and_the_main_image_from_columns_are_those_from_tuples(root, pid):
    """Looked for in C over columns (a huge map is mostly anonymous regions): the
    regions of objects (what `size` is asked about) and the program's first mapping
    (exec detection)."""
    from vmtop.model.objects import regions_of_objects
    from vmtop.model.process_events import main_image as _main_image

    for smaps in (True, False):
        whole, pieces = snapshots(root, pid, smaps)
        expected = [r for r in whole.regions if r.object]
        assert list(regions_of_objects(pieces.regions)) == expected
        assert list(regions_of_objects(whole.regions)) == expected
        assert _main_image(pieces) == _main_image(whole)
        assert _main_image(whole) is None or _main_image(whole).path.startswith("/")


def pieces_change():
    from vmtop.tui.sampler import RegionChange

    return RegionChange("grew", 8192, 4096)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    maps=maps_texts(),
    edits=st.lists(
        st.tuples(
            st.integers(0, 10_000),
            st.sampled_from(["rss", "drop", "grow", "perms", "kind", "add", "split"]),
        ),
        max_size=8,
    ),
    smaps=st.booleans(),
)
def test_the_diff_of_columns_is_the_diff_of_tuples(maps, edits, smaps):
    """Events, per-region changes and unmapped ranges, between two snapshots held as
    columns (compared column by column) and as tuples (compared by hashes)."""
    from helpers_diff import snapshot

    from vmtop.model import diff, sweep
    from vmtop.model.region_changes import region_changes, unmapped_ranges

    old = parse_smaps(smaps_of(maps, [4, 8, 64])) if smaps else parse_maps(maps)
    new = list(old)
    for pick, what in edits:
        i = pick % len(new)
        r = new[i]
        if what == "rss" and r.rss is not None:
            new[i] = r._replace(rss=r.rss + 128 * 1024)
        elif what == "drop" and len(new) > 1:
            del new[i]
        elif what == "grow" and (i + 1 == len(new) or new[i + 1].start >= r.end + 8192):
            new[i] = r._replace(end=r.end + 8192)
        elif what == "perms":
            new[i] = r._replace(perms="---p" if r.perms != "---p" else "rw-p")
        elif what == "kind":
            new[i] = r._replace(path="[anon: renamed]", inode=0)
        elif what == "add" and (i + 1 == len(new) or new[i + 1].start >= r.end + 4096):
            new.insert(i + 1, r._replace(start=r.end, end=r.end + 4096, rss=None))
        elif what == "split" and r.end - r.start >= 8192:
            middle = r.start + 4096
            new[i : i + 1] = [r._replace(end=middle), r._replace(start=middle)]
    before, after = snapshot(old, smaps=smaps), snapshot(new, smaps=smaps, taken_at=1.7e9 + 1)
    as_cols = [s._replace(regions=RegionColumns.from_regions(s.regions)) for s in (before, after)]
    for a, b in ((before, after), (after, before)):
        ca, cb = (as_cols[0], as_cols[1]) if a is before else (as_cols[1], as_cols[0])
        sweep.clear_cache()
        expected = (
            diff.diff_snapshots(a, b),
            region_changes(a, b),
            list(unmapped_ranges(a, b)),
        )
        sweep.clear_cache()
        got = (
            diff.diff_snapshots(ca, cb),
            region_changes(ca, cb),
            list(unmapped_ranges(ca, cb)),
        )
        assert got == expected


def test_keys_stay_right_when_the_shared_numbering_of_names_starts_over(monkeypatch):
    from vmtop.model import column_keys, diff, sweep
    from vmtop.model.region_changes import region_changes

    root, pid = next((r, p) for r, p in TREES if r.name == "jvm")
    whole, pieces = snapshots(root, pid, True)
    fewer = whole._replace(regions=whole.regions[:-5], taken_at=whole.taken_at + 1)
    fewer_columns = fewer._replace(regions=RegionColumns.from_regions(fewer.regions))
    sweep.clear_cache()
    expected = diff.diff_snapshots(whole, fewer), region_changes(whole, fewer)
    # Smaller than one snapshot's names: it starts over for every snapshot keyed.
    monkeypatch.setattr(column_keys, "VOCABULARY_MAX", 3)
    before = column_keys._generation
    sweep.clear_cache()
    got = diff.diff_snapshots(pieces, fewer_columns), region_changes(pieces, fewer_columns)
    assert column_keys._generation > before + 1
    assert got == expected


def test_classification_skips_runs_of_plain_anonymous_memory_and_still_agrees():
    from vmtop.model.classify import _rows_to_classify

    lines = []
    at = 0x7F0000000000 - 0x10000  # the run crosses a 64 MiB boundary (an arena start)
    for i in range(5000):
        perms = "rw-p" if i % 2 else "r--p"
        lines.append(f"{at:x}-{at + 0x1000:x} {perms} 00000000 00:00 0")
        at += 0x1000
    # an object's data with a bss after it, a guard below rw memory, a named region
    lines += [
        f"{at:x}-{at + 0x1000:x} r-xp 00000000 08:01 77 /usr/lib/libx.so",
        f"{at + 0x1000:x}-{at + 0x2000:x} rw-p 00001000 08:01 77 /usr/lib/libx.so",
        f"{at + 0x2000:x}-{at + 0x3000:x} rw-p 00000000 00:00 0",
        f"{at + 0x3000:x}-{at + 0x4000:x} ---p 00000000 00:00 0",
        f"{at + 0x4000:x}-{at + 0x9000:x} rw-p 00000000 00:00 0",
        f"{at + 0x9000:x}-{at + 0xA000:x} rw-p 00000000 00:00 0 [anon: x]",
    ]
    regions = parse_maps(("\n".join(lines) + "\n").encode())
    columns = RegionColumns.from_regions(regions)
    looked_at = [i for i, _ in _rows_to_classify(columns)]
    assert len(looked_at) < 20  # the run's first page, the one at the boundary, the rest
    assert 0 in looked_at and 16 in looked_at  # 0x7F0000000000 is page 16 of the run
    facts = ClassifyFacts(stack_pointers={}, bss_after_data={}, sysv={})
    expected = classify_regions(regions, facts)
    assert list(classify_columns(columns, facts)) == expected
    assert {r.kind for r in expected} >= {"bss", "guard", "text", "data", "named_anon"}
