"""Layers as pure rules: windows of the week (overnight, whole days, DST), the later layer winning, follow-the-sun,
and segments within which who is on call is one answer."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.errors import UserError
from bot.domain.layers import Layer, describe_days, layer_at, parse_days, parse_layer
from bot.domain.rotation import Handoff, on_call
from bot.domain.segments import segments

BERLIN, NEW_YORK, LORD_HOWE = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe")
WEEKLY = Handoff(1, time(10), UTC)
ORIGIN = datetime(2026, 11, 3, 10, tzinfo=UTC)
EMEA = Layer("emea", frozenset(range(5)), time(8), time(16), BERLIN, ("A", "B"))
AMER = Layer("amer", frozenset(range(5)), time(9), time(17), NEW_YORK, ("C", "D"))


@pytest.mark.parametrize(("text", "days"), [("mon-fri", {0, 1, 2, 3, 4}), ("sat,sun", {5, 6}), ("daily", set(range(7))),
                                            ("fri-mon", {4, 5, 6, 0}), ("mon,wed-thu", {0, 2, 3})])
def test_days_read_and_said(text, days):
    assert parse_days(text) == frozenset(days)
    assert parse_days(describe_days(frozenset(days))) == frozenset(days)


@pytest.mark.parametrize(("args", "said"), [(("Bad Name", "daily", "08:00-16:00"), "layer name"),
                                            (("emea", "someday", "08:00-16:00"), "is not days"),
                                            (("emea", "daily", "8-16"), "is not hours"),
                                            (("emea", "daily", "08:00-16:00", "Mars/Base"), "not a timezone")])
def test_bad_layers_are_refused_by_name(args, said):
    with pytest.raises(UserError, match=said):
        parse_layer(*args[:3], args[3] if len(args) > 3 else None, UTC)


def test_follow_the_sun_with_the_later_layer_winning_the_overlap():
    tuesday = datetime(2026, 11, 10, tzinfo=UTC)
    at = lambda hour: on_call(["X"], tuesday + timedelta(hours=hour), handoff=WEEKLY, origin=ORIGIN,  # noqa: E731
                              layers=[EMEA, AMER])
    assert (at(6).layer, at(6).primary) == (None, "X")  # 07:00 Berlin: before every window
    assert (at(8).layer, at(8).primary, at(8).secondary) == ("emea", "A", "B")  # shift 0 (before the 10:00 handoff): A
    assert (at(14).layer, at(14).primary) == ("amer", "D")  # 15:00 Berlin is 09:00 New York: amer wins; shift 1: D
    assert (at(21).layer, at(22).layer) == ("amer", None)  # 17:00 New York closes it
    saturday = on_call(["X"], datetime(2026, 11, 14, 12, tzinfo=UTC), handoff=WEEKLY, origin=ORIGIN,
                       layers=[EMEA, AMER])
    assert (saturday.layer, saturday.primary) == (None, "X")


def test_overnight_and_whole_day_windows_across_lord_howes_half_hour_dst():
    nights = Layer("nights", frozenset({4}), time(22), time(6), LORD_HOWE)  # Friday 22:00 to Saturday 06:00
    friday_23 = datetime(2026, 10, 2, 23, tzinfo=LORD_HOWE)  # DST begins on Sunday 4 October there
    assert nights.covers(friday_23) and nights.covers(friday_23 + timedelta(hours=6, minutes=59))
    assert not nights.covers(friday_23 + timedelta(hours=7))
    whole = parse_layer("sun", "sun", "00:00-00:00", "Australia/Lord_Howe", UTC)
    sunday = datetime(2026, 10, 4, tzinfo=LORD_HOWE).astimezone(UTC)  # real hours from here on
    assert whole.covers(sunday) and whole.covers(sunday + timedelta(hours=23, minutes=29))
    assert not whole.covers(sunday + timedelta(hours=23, minutes=30))  # 24 local hours are 23.5 real ones that day


windows = st.builds(Layer, st.sampled_from(["a", "b", "c"]), st.frozensets(st.integers(0, 6), min_size=1),
                    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
                    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
                    st.sampled_from([UTC, BERLIN, NEW_YORK, LORD_HOWE]),
                    st.lists(st.sampled_from("ABCDE"), max_size=3, unique=True).map(tuple))


@settings(max_examples=100, deadline=None)
@given(layers=st.lists(windows, max_size=3), hours=st.integers(0, 24 * 30),
       probes=st.lists(st.floats(0.001, 0.999), min_size=2, max_size=4))
def test_within_a_segment_who_is_on_call_is_one_answer_and_segments_tile_the_time(layers, hours, probes):
    moment = ORIGIN + timedelta(hours=hours)
    rules = {"handoff": WEEKLY, "origin": ORIGIN, "layers": layers}
    cut = segments(["X", "Y"], moment, count=1, **rules)
    assert cut[0][0] == moment and all(a[1] == b[0] for a, b in itertools.pairwise(cut))
    for start, end, held in cut:
        assert start < end
        for share in probes:
            inside = start + (end - start) * share
            again = on_call(["X", "Y"], inside, **rules)
            assert (again.layer, again.primary, again.secondary) == (held.layer, held.primary, held.secondary)
            assert again.layer == (layer_at(layers, inside).name if layer_at(layers, inside) else None)


@settings(max_examples=300, deadline=None)
@given(layer=windows, minutes=st.integers(0, 60 * 24 * 400))
def test_the_wall_clock_shortcut_agrees_with_the_windows_as_instants(layer, minutes):
    moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)  # a year of DST changes in four zones
    day = moment.astimezone(layer.tz).date()
    assert layer.covers(moment) == any(b <= moment < f for b, f in layer.windows(day - timedelta(days=1), day))
