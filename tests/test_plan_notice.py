"""`watch` and `record` say a new plan for reading smaps (or maps) on stderr only when it
is news that holds: watching 30 000 regions at 1 s, a read costing about the budget
flipped the plan between every read and every 2 reads, and watch said each flip, 22
lines in 90 s (review)."""

from __future__ import annotations

from vmtop.commands.plan_notice import GAP, HOLD, PlanNotice, plan_worth_saying


def said(notice: PlanNotice, plans, start: float = 0.0, step: float = 1.0) -> list[int]:
    out = []
    for i, every in enumerate(plans):
        if notice.news(every, start + i * step):
            out.append(every)
    return out


def test_a_plan_that_flips_is_not_said():
    assert said(PlanNotice(1), [2, 1] * 200) == []
    assert said(PlanNotice(2), [1, 2, 2, 1, 3, 2] * 100) == []


def test_a_plan_that_holds_is_said_once_within_a_few_samples():
    lines = said(PlanNotice(1), [4] * 50)
    assert lines == [4]
    notice = PlanNotice(1)
    assert [notice.news(4, t) for t in range(HOLD)][-1]  # said on the HOLD-th sample


def test_at_most_a_line_a_minute():
    # Plans that each hold a while, one after the other, every second for an hour.
    plans = ([4] * 5 + [1] * 5) * 360
    notice = PlanNotice(1)
    times = [t for t, every in enumerate(plans) if notice.news(every, float(t))]
    assert times and all(b - a >= GAP for a, b in zip(times, times[1:], strict=False))
    assert len(times) <= len(plans) / GAP + 1


def test_what_is_news():
    assert plan_worth_saying(1, 4) and plan_worth_saying(4, 1)  # from and to every sample
    assert not plan_worth_saying(4, 3) and not plan_worth_saying(3, 4)  # at the edge
    assert plan_worth_saying(4, 8) and plan_worth_saying(8, 4)
    assert not plan_worth_saying(4, 4)
    # Between 3 and 4 nothing is said, however long it holds.
    assert said(PlanNotice(3), [4] * 100) == []
