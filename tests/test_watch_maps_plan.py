"""`vmtop watch` reads maps between smaps reads on a budget too (MapsPlan): every tick
while a read is cheap, less often when it is not, and not moved by one dear read."""

from __future__ import annotations

from vmtop.commands.watch import MAPS_BUDGET, MapsPlan


def reads(plan: MapsPlan, ticks: int) -> list[bool]:
    """For each tick, whether maps is read on it."""
    return [not plan.skip() for _ in range(ticks)]


def test_cheap_reads_happen_every_tick():
    plan = MapsPlan(1.0)
    for _ in range(5):
        plan.note(0.045)
    assert plan.every == 1
    assert reads(plan, 5) == [True] * 5


def test_dear_reads_happen_less_often_and_it_says_so():
    plan = MapsPlan(1.0)
    for _ in range(3):
        plan.note(0.35)  # 35 % of a core at 1 s, against a 10 % budget
    assert MAPS_BUDGET == 0.10 and plan.every == 4
    assert reads(plan, 8) == [False, False, False, True] * 2
    assert "maps every 4 intervals" in plan.describe() and "350 ms" in plan.describe()
    # At a longer interval the same read fits.
    slow = MapsPlan(5.0)
    for _ in range(3):
        slow.note(0.35)
    assert slow.every == 1


def test_one_dear_read_among_cheap_ones_changes_nothing():
    plan = MapsPlan(1.0)
    plan.note(0.9)  # the first read, parsed whole
    plan.note(0.04)
    assert plan.every == 1  # too few reads to judge
    for cost in (0.04, 0.04, 0.6, 0.04):  # the first after an smaps read is dearer
        plan.note(cost)
        assert plan.every == 1


def test_a_thread_exit_line_names_the_thread():
    from vmtop.commands.watch import human_line
    from vmtop.model import events as ev
    from vmtop.model.events import Event

    stack = 0x7F0000000000
    event = Event(
        1_700_000_000.0, ev.THREAD_EXITED, stack, stack + (8 << 20), "thread_stack",
        (8 << 20), -(8 << 20), path="", tid=812,
    )  # fmt: skip
    line = human_line(event)
    assert "thread_exited" in line and "[stack of thread 812]" in line
    assert "[anon]" not in line
    # Without a thread id: an anonymous region, as before; a thread's stack of no thread
    # (kept by glibc after its thread exited) is still a thread stack.
    gone = event._replace(event=ev.UNMAPPED, tid=None)
    assert "[anon]" in human_line(gone._replace(kind="anon"))
    assert "[thread stack]" in human_line(gone) and "[anon]" not in human_line(gone)
