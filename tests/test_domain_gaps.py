"""Gaps as a pure rule: the exact spans in the next 14 days in which a role the policy pages is held by nobody."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.gaps import HORIZON, Gap, gaps
from bot.domain.rotation import ROLES, Handoff, Override, Role, on_call
from bot.domain.time_off import Away

WEEKLY = Handoff(1, time(10), UTC)
ORIGIN = datetime(2026, 11, 3, 10, tzinfo=UTC)  # a Tuesday handoff
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
ALL = frozenset(ROLES)


def test_three_people_one_away_leaves_the_tertiary_empty_for_exactly_that_time():
    away = [Away("C", datetime(2026, 11, 27, 9, tzinfo=UTC), datetime(2026, 11, 28, 18, tzinfo=UTC))]
    assert gaps(["A", "B", "C"], NOW, handoff=WEEKLY, origin=ORIGIN, paged=ALL, away=away) == [
        Gap(Role.TERTIARY, away[0].starts_at, away[0].ends_at)]
    # a fourth person stands in: no gap; a policy that pages no tertiary: no gap either
    assert gaps(["A", "B", "C", "D"], NOW, handoff=WEEKLY, origin=ORIGIN, paged=ALL, away=away) == []
    assert gaps(["A", "B", "C"], NOW, handoff=WEEKLY, origin=ORIGIN, paged=frozenset({Role.PRIMARY}),
                away=away) == []


def test_a_roster_of_two_has_no_tertiary_by_shape_and_an_empty_roster_no_primary_at_all():
    assert gaps(["A", "B"], NOW, handoff=WEEKLY, origin=ORIGIN, paged=ALL) == []
    assert gaps([], NOW, handoff=WEEKLY, origin=ORIGIN, paged=ALL) == [Gap(Role.PRIMARY, NOW, NOW + HORIZON)]


def test_an_override_fills_what_time_off_empties():
    away = [Away("A", NOW, NOW + timedelta(days=3))]
    cover = [Override("Z", Role.PRIMARY, NOW + timedelta(days=1), NOW + timedelta(days=2))]
    assert gaps(["A"], NOW, handoff=WEEKLY, origin=ORIGIN, paged=ALL, away=away, overrides=cover) == [
        Gap(Role.PRIMARY, NOW, NOW + timedelta(days=1)), Gap(Role.PRIMARY, NOW + timedelta(days=2),
                                                             NOW + timedelta(days=3))]


spans = st.tuples(st.sampled_from("ABCD"), st.integers(0, 24 * 16), st.integers(1, 24 * 6))


@settings(max_examples=200, deadline=None)
@given(roster=st.lists(st.sampled_from("ABCD"), max_size=4, unique=True), off=st.lists(spans, max_size=5),
       probes=st.lists(st.integers(0, 14 * 24 * 60 - 1), min_size=10, max_size=30),
       paged=st.sets(st.sampled_from(ROLES), min_size=1))
def test_an_instant_is_in_a_gap_exactly_when_a_paged_role_is_empty_there(roster, off, probes, paged):
    away = [Away(u, NOW + timedelta(hours=h), NOW + timedelta(hours=h + n)) for u, h, n in off]
    found = gaps(roster, NOW, handoff=WEEKLY, origin=ORIGIN, paged=frozenset(paged), away=away)
    for minutes in probes:
        at = NOW + timedelta(minutes=minutes)
        held = on_call(roster, at, handoff=WEEKLY, origin=ORIGIN, away=away)
        shape = on_call(roster, at, handoff=WEEKLY, origin=ORIGIN)
        for role in ROLES:
            empty = role in paged and held.holder(role) is None and (
                role is Role.PRIMARY or shape.holder(role) is not None)
            assert empty == any(g.role == role and g.starts_at <= at < g.ends_at for g in found), (role, at)
