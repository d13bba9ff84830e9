"""How a mapping's figures compare across a change of its lines.

Where the lines of one mapping changed between two samples (a heap that grew, blocks
freed from the middle of a region the kernel had merged them into, an mprotect that split
it), its figures are compared as sums over the old lines and the new: what surely
changed in what is still mapped (``certain_rss_change``), what left with the parts cut
off (``cut_resident``), where the change is said (``resident_range``), and its swap,
shared memory and memory freed with MADV_FREE moving (``swap_moved``, ``shared_moved``,
``lazy_moved``). Used by the diff of two samples and by the TUI's drift. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from vmtop.model.event_words import size_text
from vmtop.model.events import Event
from vmtop.model.figure_drift import summed
from vmtop.model.lazy_free import lazy_free_event
from vmtop.model.region import Region
from vmtop.model.sharing_events import shared_event
from vmtop.model.swap_events import swap_event

_PAGE = 4096


def swap_moved(
    region: Region, start: int, end: int, delta: int, now: int, threshold: int, when: float,
    out: list[Event],
) -> None:  # fmt: skip
    """A swap_changed where a mapping's swap moved by the threshold and its resident size
    did not (memory pressure swaps old pages out as new ones come in); where the
    resident size moved too, its rss_changed says the swap."""
    if delta >= threshold or -delta >= threshold:
        out.append(swap_event(when, region, start, end, delta, now))


def shared_moved(
    region: Region, start: int, end: int, shared: tuple[int | None, int | None],
    threshold: int, when: float, out: list[Event], ksm: tuple = (None, None),
) -> None:  # fmt: skip
    """A shared_changed where a private mapping's anonymous memory shared with another
    process (``shared``: before and now, where known) moved by the threshold: a fork,
    copy-on-write, or KSM (``ksm``: the process's counts before and now). Its Rss does
    not move."""
    was, now = shared
    if was is None or now is None:
        return
    if now - was >= threshold or was - now >= threshold:
        out.append(shared_event(when, region, start, end, now - was, now, "", ksm))


def lazy_moved(
    region: Region, start: int, end: int, clean: tuple[int | None, int | None], rss_delta: int,
    swap_delta: int | None, threshold: int, when: float, out: list[Event],
) -> None:  # fmt: skip
    """A lazyfree_changed where a private anonymous mapping's clean memory (``clean``:
    before and now, where known) moved by the threshold: freed with MADV_FREE, or
    written again. Not where its Rss fell by the threshold (the rss_changed says what
    went), nor where pages came back from swap (they come clean)."""
    was, now = clean
    if was is None or now is None or rss_delta <= -threshold:
        return
    if swap_delta is not None and swap_delta <= -threshold:
        return
    if now - was >= threshold or was - now >= threshold:
        out.append(lazy_free_event(when, region, start, end, now - was, now))


def swap_of(rows: Iterable[Region]) -> int | None:
    """The swap of these lines together, None where one is not known."""
    return summed(rows, _swap)


def _swap(r: Region) -> int | None:
    return r.swap


def resident_range(
    rows: Sequence[Region],
    rss: Sequence[int],
    old: Sequence[Region] = (),
    old_rss: Sequence[int] = (),
    delta: int = 0,
) -> tuple[Region, int, int]:
    """Where a resident change ``delta`` of the lines ``rows`` of one mapping (address
    order; ``rss`` their figures) is said: over the lines it happened in, where the
    ``old`` lines (their figures ``old_rss``) tell (``_moved_lines``); else from the
    first to the last line that holds memory (else that is accessible), as the biggest
    of them. Not the whole group, where mprotect cut a reserve's no-access tail off a
    committed part: that would be an arena's 64 MiB, or a wasm memory's 8 GiB, none of
    it one region of the map."""
    moved = _moved_lines(rows, rss, old, old_rss, delta) if old and delta else {}
    if moved:
        held = sorted(moved)
        biggest = max(held, key=lambda k: abs(moved[k]))
        return rows[biggest], rows[held[0]].start, rows[held[-1]].end
    held = [k for k in range(len(rows)) if rss[k] > 0] or [
        k for k in range(len(rows)) if rows[k].perms[:3] != "---"
    ]
    held = held or list(range(len(rows)))
    biggest = max(held, key=rss.__getitem__)
    return rows[biggest], rows[held[0]].start, rows[held[-1]].end


def _moved_lines(
    rows: Sequence[Region],
    rss: Sequence[int],
    old: Sequence[Region],
    old_rss: Sequence[int],
    delta: int,
) -> dict[int, int]:
    """The lines (index: bytes) whose resident memory moved the way ``delta`` did, by
    more than a page, against their share of the old lines' figures (an old line's
    resident bytes spread over its length): after mprotect(PROT_NONE) and
    MADV_DONTNEED of a region's top, the top's line, not the bottom's that kept its
    pages (review: "-6.0 MiB" was said of a 2 MiB line). Only where each old line was
    wholly resident or wholly not: elsewhere where its pages were is not known."""
    out: dict[int, int] = {}
    if any(0 < figure < o.end - o.start for o, figure in zip(old, old_rss, strict=True)):
        return out  # where in an old line its pages were is not known: no guess
    for k, r in enumerate(rows):
        share = 0
        for o, figure in zip(old, old_rss, strict=True):
            overlap = min(r.end, o.end) - max(r.start, o.start)
            if overlap > 0 and o.end > o.start:
                share += figure * overlap // (o.end - o.start)
        moved = rss[k] - share
        if (moved > _PAGE and delta > 0) or (moved < -_PAGE and delta < 0):
            out[k] = moved
    return out


def lost_bytes(old: Sequence[Region], new: Sequence[Region]) -> int:
    """Bytes of the ``old`` lines (address order) that none of the ``new`` lines (of
    the same mapping, address order) still covers: unmapped from it."""
    covered = 0
    j = 0
    for o in old:
        while j < len(new) and new[j][1] <= o[0]:
            j += 1
        k = j
        while k < len(new) and new[k][0] < o[1]:
            covered += min(o[1], new[k][1]) - max(o[0], new[k][0])
            k += 1
    return sum(o[1] - o[0] for o in old) - covered


def certain_rss_change(delta: int, was: int, lost: int) -> int:
    """The part of a mapping's resident change that surely happened in what is still
    mapped. Where ``lost`` bytes of it were unmapped, the memory they held (at most
    ``was``, at most ``lost``) left with them: a fall that this can explain is no
    change of the rest (cut 16 MiB off a region and its other half "lost 4 MiB")."""
    if delta >= 0 or lost <= 0:
        return delta
    return min(0, delta + min(lost, was))


def cut_resident(out: list[Event], cut: list[int], gone: int, most: int) -> None:
    """The resident memory that left with the parts of a mapping cut off (``gone``: its
    fall that the cuts explain, ``certain_rss_change``; ``most``: what they could have
    held), on the event of the first cut: 40 MiB of malloc blocks freed from the middle
    of the region the kernel had merged them into was in no event. Only the mapping's
    sum is known before: where the rest faulted pages in meanwhile, the cut held more
    than its fall says (up to ``most``); several cuts, it is said of them together."""
    if gone <= 0 or not cut or cut[-1] >= len(out):
        return
    said = f"{size_text(gone)} was resident"
    if len(cut) > 1:
        said += f" in the {len(cut)} parts cut off this region together"
    if gone < most:
        said = (
            f"{size_text(gone)} or more was resident (up to {size_text(most)}: what the rest "
            "faulted in or gave back meanwhile cannot be told apart)"
            if len(cut) == 1
            else f"{said}, or more (up to {size_text(most)})"
        )
    event = out[cut[0]]
    detail = f"{event.detail}; {said}" if event.detail else said
    out[cut[0]] = event._replace(rss=gone, detail=detail)
