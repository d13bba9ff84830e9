"""Events carry the object of their region ("Java heap", "V8 heap page", an ELF file, an
arena, a thread's name): `watch --json` gives it as `object`, recordings keep it, and a
recording written before events had it reads as none.

Hand-made snapshots whose regions carry objects as classification gives them."""

from __future__ import annotations

from helpers_diff import MiB, base_regions, region, snapshot

from vmtop.commands.watch import event_record
from vmtop.model import diff
from vmtop.model import events as ev
from vmtop.record import format as fmt
from vmtop.record.reader import Recording
from vmtop.record.writer import RecordingWriter

HEAP = 0x7F40_0000_0000


def heap_page(rss: int):
    return region(HEAP, HEAP + 256 * 1024, "rw-p", rss=rss)._replace(object="V8 heap page")


def take(t: float, extra=()):
    return snapshot(base_regions() + list(extra), taken_at=1_700_000_000.0 + t)


def test_a_mapped_event_carries_its_regions_object_and_watch_json_says_it():
    (mapped,) = diff.diff_snapshots(take(0), take(1, [heap_page(0)]))
    assert (mapped.event, mapped.object) == (ev.MAPPED, "V8 heap page")
    assert event_record(mapped)["object"] == "V8 heap page"


def test_an_rss_change_carries_it_too_and_an_event_without_one_leaves_it_out():
    (grew,) = diff.diff_snapshots(take(0, [heap_page(0)]), take(1, [heap_page(MiB // 4)]))
    assert (grew.event, grew.object) == (ev.RSS_CHANGED, "V8 heap page")
    plain = region(HEAP, HEAP + MiB, "rw-p", rss=0)
    (mapped,) = diff.diff_snapshots(take(0), take(1, [plain]))
    assert mapped.object is None and "object" not in event_record(mapped)


def test_recordings_keep_it_and_read_older_events_without_it(tmp_path):
    (mapped,) = diff.diff_snapshots(take(0), take(1, [heap_page(0)]))
    path = str(tmp_path / "objects.jsonl.gz")
    with RecordingWriter(path, interval=1.0) as writer:
        writer.write_sample(take(0))
        writer.write_sample(take(1, [heap_page(0)]), [mapped])
    ((_i, read),) = Recording.open(path).events()
    assert read.object == "V8 heap page"
    # Written before events had the field: eleven of them.
    assert fmt.row_event(list(mapped)[:11]) == mapped._replace(object=None)


def test_a_nameless_region_goes_by_its_object_in_watch_s_lines_and_the_log():
    """An anonymous region's event said "[anon]" even where vmtop had named the region:
    in a Chromium renderer every rss_changed of Oilpan's or V8's heap read the same."""
    from vmtop.commands.watch import human_line
    from vmtop.tui.widgets.event_log import event_segments

    (grew,) = diff.diff_snapshots(take(0, [heap_page(0)]), take(1, [heap_page(MiB // 4)]))
    assert "V8 heap page" in human_line(grew) and "[anon]" not in human_line(grew)
    assert "V8 heap page" in "".join(s.text for s in event_segments(grew))
    plain = region(HEAP, HEAP + MiB, "rw-p", rss=0)
    (mapped,) = diff.diff_snapshots(take(0), take(1, [plain]))
    assert "[anon]" in human_line(mapped)
