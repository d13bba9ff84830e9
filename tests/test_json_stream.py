"""A snapshot's JSON read a region at a time (vmtop.output.json_stream): the same
values json.loads gives, however the text is spaced or cut into pieces, and a snapshot
of many regions read without a dict a region held (a million were 3.8 GB)."""

from __future__ import annotations

import io
import json
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmtop.model.columns import RegionColumns
from vmtop.model.region import Region
from vmtop.output import json_stream
from vmtop.output.json_in import read_snapshot_file, snapshot_of
from vmtop.procfs.snapshot import HUGE_MAP_REGIONS

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(1 << 70), 1 << 70), st.floats(allow_nan=False),
    st.text(max_size=12),
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    head=st.dictionaries(st.text(max_size=8), VALUES, max_size=4),
    regions=st.lists(VALUES, max_size=6),
    tail=st.dictionaries(st.text(max_size=8), VALUES, max_size=4),
    indent=st.sampled_from([None, 0, 2, "\t"]),
    ascii_only=st.booleans(),
    piece=st.integers(1, 40),
)
def test_an_object_read_in_pieces_is_what_json_loads_gives(
    head, regions, tail, indent, ascii_only, piece
):
    document = {**head, "regions": regions, **tail}
    text = json.dumps(document, indent=indent, ensure_ascii=ascii_only).encode()
    seen = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_stream, "READ", piece)
        read = json_stream.read_object(io.BytesIO(text), "regions", seen.append)
    assert seen == regions
    assert read == {**json.loads(text), "regions": len(regions)}


@pytest.mark.parametrize(
    "text",
    [b"", b"[1, 2", b'{"regions": [1, 2}', b'{"a": 1} x', b'{"a" 1}', b'{"regions": [1,]}', b"{1: 2}",
     b'{"a": tru}', b'{"a": "\xff"}'],
)  # fmt: skip
def test_what_json_loads_refuses_is_refused(text):
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        json_stream.read_object(io.BytesIO(text), "regions", lambda _: None)


def region_text(i: int) -> str:
    start = 0x7F00_0000_0000 + i * 0x2000
    return json.dumps(
        {"start": hex(start), "end": hex(start + 0x1000), "size": 4096, "perms": "rw-p",
         "offset": 0, "dev": "00:00", "inode": 0, "path": "", "kind": "anon", "object": None,
         "sections": [], "kernel_page_size": 4096, "mmu_page_size": 4096, "rss": 4096,
         "pss": 4096, "pss_dirty": 4096, "shared_clean": 0, "shared_dirty": 0,
         "private_clean": 0, "private_dirty": 4096, "referenced": 4096, "anonymous": 4096,
         "ksm": 0, "lazy_free": 0, "anon_huge_pages": 0, "swap": 0, "swap_pss": 0,
         "locked": 0, "vm_flags": ["rd", "wr", "mr", "mw", "me", "ac"]}
    )  # fmt: skip


def snapshot_file(tmp_path, n: int):
    path = tmp_path / "a.json"
    with open(path, "w") as f:
        f.write('{"format": "vmtop-snapshot", "format_version": 1, "pid": 7, "start_time": 9, ')
        f.write('"command": "many", "regions": [')
        f.write(", ".join(region_text(i) for i in range(n)))
        f.write('], "taken_at": 1.5, "totals": {"size": 1, "rss": 1}, "objects": []}\n')
    return path


def written_region(i: int) -> Region:
    """The Region ``region_text(i)`` describes, made here from its numbers."""
    start = 0x7F00_0000_0000 + i * 0x2000
    return Region(start, start + 0x1000, "rw-p", 0, "00:00", 0, "", rss=4096, pss=4096,
                  shared_clean=0, shared_dirty=0, private_clean=0, private_dirty=4096,
                  swap=0, anonymous=4096, kind="anon")  # fmt: skip


def test_a_huge_snapshot_is_read_into_columns_equal_to_its_regions(tmp_path):
    n = HUGE_MAP_REGIONS + 2500
    path = snapshot_file(tmp_path, n)
    read = read_snapshot_file(str(path))
    assert isinstance(read.regions, RegionColumns)
    assert read.regions == [written_region(i) for i in range(n)]
    assert (read.info.pid, read.info.start_time, read.info.command) == (7, 9, "many")
    assert read.taken_at == 1.5 and read.has_smaps and read.totals.rss == 1
    whole = snapshot_of(json.loads(path.read_bytes()))
    assert read == whole._replace(regions=read.regions)
    small = read_snapshot_file(str(snapshot_file(tmp_path, 40)))
    assert isinstance(small.regions, tuple) and len(small.regions) == 40


def test_reading_a_snapshot_holds_no_dict_a_region(tmp_path):
    """Its peak is the columns' (tens of bytes a region) and a piece's, not the document's
    (the old read held every region's dict: about 4 KiB a region)."""
    n = 3 * HUGE_MAP_REGIONS
    path = snapshot_file(tmp_path, n)
    tracemalloc.start()
    try:
        read_snapshot_file(str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak / n < 600, f"{peak / n:.0f} bytes a region at the peak"
