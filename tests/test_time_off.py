"""Time off (`/incident pto add|list|remove`) end to end, and its rule alone: whoever is away holds no role and is
never paged — the next of the roster stands in, shown as covering for them; a cover request opens at once; only
the person, ADMINS or their rotation's creator record it; bad input and replays change nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.db.models import CoverRequest
from bot.db.schedule_models import TimeOff
from bot.domain.escalation import Paged, default_policy, next_pages
from bot.domain.rotation import ROLES, Handoff, Role, on_call
from bot.domain.time_off import Away, stand_ins
from tests.test_covers import buttons, request_messages
from tests.test_paging import dms_to, with_rotation
from tests.test_rotations import on_call_at, say, sent_twice

THURSDAY_NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
RECORD = "pto add 2026-11-26 2026-11-27 dentist"  # Thursday and Friday, whole days (UTC people)


def rows(bot, model) -> list:
    with bot.session() as s:
        return list(s.exec(select(model)))


async def four_people(bot) -> None:
    await with_rotation(bot)  # Wednesday noon: U0A primary, U0B secondary, U0C tertiary (U0A created it)
    bot.fake.add_user("U0D", tz="UTC")
    assert (await say(bot, "rotation add payments <@U0D|d>", user="U0A"))["text"].startswith("Added")


async def test_away_holds_no_role_is_never_paged_and_a_cover_request_opens(bot):
    await four_people(bot)
    answer = (await say(bot, RECORD, user="U0A"))["text"]
    assert answer.startswith("Recorded (#1): <@U0A> is away from ") and "1 cover request opened in <#C0PAY>" in answer
    [row] = rows(bot, TimeOff)
    assert (row.starts_at, row.ends_at, row.reason) == (THURSDAY_NOON - timedelta(hours=12),
                                                        THURSDAY_NOON + timedelta(hours=36), "dentist")
    [cover] = rows(bot, CoverRequest)
    assert (cover.requester, cover.role, cover.starts_at, cover.ends_at, cover.state) == (
        "U0A", Role.PRIMARY, row.starts_at, row.ends_at, "open")
    [(_, message)] = request_messages(bot)
    assert "time off: dentist" in json_text(message["blocks"]) and buttons(message)

    assert on_call_at(bot, bot.clock.now()).primary == "U0A"  # not away yet
    thursday = on_call_at(bot, THURSDAY_NOON)
    assert (thursday.primary, thursday.secondary, thursday.tertiary) == ("U0B", "U0C", "U0D")
    assert thursday.covering == ((Role.PRIMARY, "U0A"),)
    bot.clock.set(THURSDAY_NOON)
    shown = json_text(await say(bot, "oncall payments", user="U0B"))
    assert "primary <@U0B> covering for <@U0A> (PTO)" in shown, shown
    await bot.declare("Checkout is down", priority="P0")
    assert dms_to(bot, "U0A") == [] and len(dms_to(bot, "U0B")) == 1
    refused = (await say(bot, "page INC-1 <@U0A|a>", user="U0B"))["text"]
    assert refused.startswith("<@U0A> is away (time off) until "), refused
    assert dms_to(bot, "U0A") == []

    await say(bot, "handoff payments", user="U0B")
    [digest] = [p for p in bot.fake.calls_to("chat.postMessage") if p["text"].startswith("Handoff for payments")]
    assert "*Away:* <@U0A> until " in json_text(digest["blocks"]), digest

    listed = (await say(bot, "pto list payments", user="U0C"))["text"]
    assert "• #1 <@U0A> from " in listed and "_(away now)_ — dentist" in listed, listed
    removed = (await say(bot, "pto remove #1", user="U0A"))["text"]
    assert removed == ("Removed time off #1 of <@U0A>: they are on the rotation as before; 1 cover request nobody "
                       "took withdrawn."), removed
    assert rows(bot, TimeOff) == [] and rows(bot, CoverRequest)[0].state == "withdrawn"
    assert on_call_at(bot, THURSDAY_NOON).primary == "U0A"


def json_text(answer) -> str:
    return json.dumps(answer)


async def test_the_heads_up_says_who_is_away_in_the_coming_shift(bot):
    await four_people(bot)
    assert (await say(bot, "pto add 2026-12-01 2026-12-02", user="U0B"))["text"].startswith("Recorded")
    bot.clock.set(datetime(2026, 11, 30, 16, 1, tzinfo=UTC))  # Monday 16:00: the heads-up for Tuesday's handoff
    await bot.tick(seconds=1)
    [heads_up] = [p["text"] for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == "U0C"
                  and "primary on `payments`" in p["text"]]
    assert heads_up.startswith(":fire_engine: You become primary on `payments`"), heads_up  # covering for U0B
    assert "*Away:* <@U0B> from " in heads_up and "(PTO)" in heads_up, heads_up


def test_a_bare_end_day_counts_whole_and_one_day_is_enough():
    from bot.services.time_off import read_range
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert read_range(["2026-12-24", "2026-12-24"], now, UTC) == (
        datetime(2026, 12, 24, tzinfo=UTC), datetime(2026, 12, 25, tzinfo=UTC), "")
    assert read_range(["2026-12-24", "09:00", "2026-12-31", "skiing"], now, UTC) == (
        datetime(2026, 12, 24, 9, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), "skiing")
    assert read_range(["2026-12-24", "2026-12-31", "12:00"], now, UTC)[1] == datetime(2026, 12, 31, 12, tzinfo=UTC)


async def test_who_may_record_whose_time_off(make_bot):
    bot = await make_bot(admins="U0ADMIN")
    await four_people(bot)
    refused = (await say(bot, "pto add <@U0A|a> 2026-11-30 2026-12-01", user="U0B"))["text"]
    assert refused.startswith("You may record your own time off; <@U0A>'s is theirs to record"), refused
    assert rows(bot, TimeOff) == []
    assert (await say(bot, "pto add <@U0B|b> 2026-11-30 2026-12-01", user="U0A"))["text"].startswith(
        "Recorded (#")  # U0A created the rotation U0B is on
    assert (await say(bot, "pto add <@U0C|c> 2026-11-30 2026-12-01", user="U0ADMIN"))["text"].startswith(
        "Recorded (#")
    assert "theirs to record" in (await say(bot, "pto remove 1", user="U0C"))["text"]
    assert sorted(r.user_id for r in rows(bot, TimeOff)) == ["U0B", "U0C"]


async def test_bad_input_changes_nothing_and_a_replay_records_once(bot):
    await four_people(bot)
    for text, says in [("pto add tomorrow", "Use `/incident pto add"),
                       ("pto add 2026-11-01 2026-11-02", "already over"),
                       ("pto add 2026-12-01 2028-01-01", "366 days at most"),
                       ("pto add 2026-12-01 2026-12-02 " + "x" * 301, "Keep the reason to 300"),
                       ("pto remove 99", "There is no time off #99"), ("pto holiday", "Use `/incident pto add")]:
        assert says in (await say(bot, text, user="U0A"))["text"], text
    assert rows(bot, TimeOff) == [] and rows(bot, CoverRequest) == []
    answers = await sent_twice(bot, RECORD, user="U0A")
    assert answers[0].startswith("Recorded") and answers[1].startswith("Already done:"), answers
    assert len(rows(bot, TimeOff)) == 1 and len(rows(bot, CoverRequest)) == 1


WEEKLY = Handoff(1, datetime(2026, 1, 1, 10).time(), UTC)
ORIGIN = datetime(2026, 11, 3, 10, tzinfo=UTC)
people = st.lists(st.sampled_from("ABCDEFG"), min_size=0, max_size=7, unique=True)


@settings(max_examples=300, deadline=None)
@given(roster=people, away=st.sets(st.sampled_from("ABCDEFG")), hours=st.integers(0, 24 * 60),
       roles=st.integers(1, 3))
def test_nobody_away_holds_a_role_and_a_role_empties_only_when_nobody_is_left(roster, away, hours, roles):
    moment = ORIGIN + timedelta(hours=hours)
    shape = Handoff(WEEKLY.weekday, WEEKLY.at, UTC, roles=roles)
    before = on_call(roster, moment, handoff=shape, origin=ORIGIN)
    after = on_call(roster, moment, handoff=shape, origin=ORIGIN,
                    away=[Away(u, moment - timedelta(hours=1), moment + timedelta(hours=1)) for u in away])
    held = [after.holder(r) for r in ROLES]
    assert not set(held) & away
    assert len([u for u in held if u]) == len({u for u in held if u})  # nobody twice
    if not {before.holder(r) for r in ROLES} & away:
        assert after == before  # nobody away: nothing moves
    for index, role in enumerate(ROLES[:roles]):
        if after.holder(role) is None and before.holder(role) is not None:  # a gap only with nobody left
            assert set(roster) - away <= {u for u in held[:index] if u}
    assert {r for r, _ in after.covering} == {r for r in ROLES if before.holder(r) in away}


def test_the_next_of_the_roster_moves_up_and_the_last_role_is_filled_in_turn():
    holders, covering = stand_ins(["B", "C", "D"], ["A", "B", "C", "D", "E"], frozenset({"C"}), ["B", "C", "D"])
    assert (holders, covering) == (["B", "D", "E"], [(1, "C")])
    holders, covering = stand_ins(["b", "c", "a"], ["a", "b", "c"], frozenset({"b"}), ["b", "c", "a"])
    assert (holders, covering) == (["c", "a", None], [(0, "b")])  # three people: the primary is never left empty


def test_a_person_or_group_step_passes_over_whoever_is_away():
    from bot.domain.escalation import Policy, Step
    policy = Policy((Step("person", 60, "U0A"), Step("group", 60, "S1", "leads", ("U0B", "U0C")),
                     Step("channel", None)))
    first = next_pages(policy, [], start="primary", holders={}, p1_inside=None, away=frozenset({"U0A", "U0B"}))
    assert (first.role, first.users) == ("group", ("U0C",))
    then = next_pages(policy, [Paged(0, "U0C")], start="primary", holders={}, p1_inside=None,
                      away=frozenset({"U0A", "U0B"}))
    assert then.channel
    assert next_pages(default_policy(timedelta(minutes=5)), [], start="primary", holders={Role.PRIMARY: "U0X"},
                      p1_inside=None, away=frozenset({"U0Z"})).users == ("U0X",)


async def test_oncall_and_the_digest_warn_of_a_gap_with_its_exact_span(bot):
    await with_rotation(bot)  # three people, three roles: nobody left to stand in
    assert (await say(bot, "pto add <@U0C|c> 2026-11-27 09:00 2026-11-28 18:00", user="U0A"))["text"].startswith(
        "Recorded")
    shown = json_text(await say(bot, "oncall payments", user="U0B"))
    assert "Gaps in the next 14 days:* nobody is tertiary from <!date^1795770000^" in shown, shown
    await say(bot, "handoff payments", user="U0B")
    [digest] = [p for p in bot.fake.calls_to("chat.postMessage") if p["text"].startswith("Handoff for payments")]
    assert "nobody is tertiary from" in json_text(digest["blocks"])
    assert (await say(bot, "pto remove 1", user="U0C"))["text"].startswith("Removed")
    assert "Gaps" not in json_text(await say(bot, "oncall payments", user="U0B"))


async def test_someone_away_is_not_asked_to_cover_and_cannot_take_it(bot):
    from bot.slack.ids import ActionId
    from tests.test_covers import ASK, press
    await with_rotation(bot)  # U0A primary this week; the cover asked for is Thursday 09:00-17:00
    assert (await say(bot, "pto add 2026-11-26 2026-11-26", user="U0C"))["text"].startswith("Recorded")
    status, body, _ = await bot.slack.command(ASK, user="U0A", channel="C0PAY")
    assert status == 200 and "Asked `payments` to cover you" in body, body
    await bot.settle()
    asks = {c["channel"] for c in bot.fake.calls_to("chat.postMessage") if ":sos:" in c["text"]}
    assert "U0B" in asks and "U0C" not in asks, asks
    [(ts, message)] = [(ts, m) for ts, m in request_messages(bot) if "dentist" in json_text(m["blocks"])]
    said = await press(bot, ActionId.COVER_TAKE, buttons(message)[ActionId.COVER_TAKE], "U0C", ts)
    assert said == "You have time off then, so you cannot cover it; nothing changed.", said
    assert [c.state for c in rows(bot, CoverRequest) if c.requester == "U0A"] == ["open"]


async def test_a_layers_person_away_opens_cover_for_their_window_only(bot):
    await with_rotation(bot)
    bot.fake.add_user("U0E", tz="UTC")
    await say(bot, "rotation layer add payments days daily 08:00-16:00 UTC", user="U0A")
    await say(bot, "rotation layer roster payments days <@U0E|e>", user="U0A")
    answer = (await say(bot, "pto add 2026-11-26 2026-11-26", user="U0E"))["text"]
    assert "1 cover request opened in <#C0PAY>" in answer, answer
    [cover] = rows(bot, CoverRequest)
    assert (cover.requester, cover.role, cover.starts_at, cover.ends_at) == (
        "U0E", Role.PRIMARY, THURSDAY_NOON - timedelta(hours=4), THURSDAY_NOON + timedelta(hours=4))


async def test_the_calendar_feed_shows_who_stands_in_while_someone_is_away(bot):
    from icalendar import Calendar

    from bot.http.tokens import rotation_feed_token
    from tests.test_board import get
    await four_people(bot)
    names = {"U0A": "Ana", "U0B": "Bo", "U0C": "Cy", "U0D": "Dee"}
    for user, name in names.items():
        bot.fake.add_user(user, tz="UTC", name=name)
    await bot.runtime.services.people.refresh(list(names))
    await say(bot, RECORD, user="U0A")  # away Thursday and Friday: U0B primary then
    rotation = bot.runtime.services.rotations.named_rotation("payments")
    feed = rotation_feed_token(bot.runtime.settings.web_secret, "payments", rotation.feed_version)
    status, _, body = await get(bot, f"/rotations/payments.ics?token={feed}")
    assert status == 200
    primaries = sorted((e.decoded("dtstart").astimezone(UTC), str(e["summary"]))
                       for e in Calendar.from_ical(body).walk("VEVENT") if " primary" in str(e["summary"]))
    for start, summary in primaries[:4]:  # the feed agrees with who is on call at each edge
        assert summary == f"payments primary: {names[on_call_at(bot, start).primary]}", (start, summary)
    assert [s for s, _ in primaries[:3]] == [bot.clock.now(), THURSDAY_NOON - timedelta(hours=12),
                                             THURSDAY_NOON + timedelta(hours=36)]
