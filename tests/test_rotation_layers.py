"""`/incident rotation layer` end to end: a follow-the-sun layer holds its window (paging, `oncall`, the calendar
feed cut at its edges), overlaps go to the later layer, removal gives the hours back; permissions, bad input and
replays change nothing (SPEC § Schedules and escalation policies)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from icalendar import Calendar
from sqlmodel import select

from bot.db.schedule_models import RotationLayer
from bot.http.tokens import page_token, rotation_feed_token
from tests.test_board import get
from tests.test_paging import dms_to, with_rotation
from tests.test_rotations import on_call_at, say, sent_twice

THURSDAY_9_BERLIN = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def layers(bot) -> list[RotationLayer]:
    with bot.session() as s:
        return list(s.exec(select(RotationLayer).order_by(RotationLayer.position)))


async def test_a_follow_the_sun_layer_holds_its_window(bot):
    await with_rotation(bot)  # U0A, U0B, U0C; Wednesday noon UTC
    names = {"U0A": "Ana", "U0B": "Bo", "U0C": "Cy", "U0D": "Dee", "U0E": "Eve"}
    for user, name in names.items():
        bot.fake.add_user(user, tz="Europe/Berlin", name=name)
    await bot.runtime.services.people.refresh(list(names))
    answer = (await say(bot, "rotation layer add payments emea mon-fri 08:00-16:00 Europe/Berlin"))["text"]
    assert answer.startswith("Done: set the layer *emea* of `payments`: mon-fri 08:00–16:00 Europe/Berlin"), answer
    answer = (await say(bot, "rotation layer roster payments emea <@U0D|d> <@U0E|e>"))["text"]
    assert answer.startswith("Done: set the roster of the layer *emea*"), answer
    held = on_call_at(bot, THURSDAY_9_BERLIN)
    assert (held.layer, held.primary, held.secondary, held.tertiary) == ("emea", "U0D", "U0E", None)
    assert (on_call_at(bot, THURSDAY_9_BERLIN + timedelta(hours=8)).layer,
            on_call_at(bot, THURSDAY_9_BERLIN + timedelta(hours=8)).primary) == (None, "U0A")  # 17:00 Berlin

    bot.clock.set(THURSDAY_9_BERLIN)
    shown = json.dumps(await say(bot, "oncall payments", user="U0B"), ensure_ascii=False)
    assert "_(emea layer)_" in shown and "*emea* mon-fri 08:00–16:00 Europe/Berlin: <@U0D>, <@U0E>" in shown, shown
    await bot.declare("Checkout is down", priority="P0")
    assert len(dms_to(bot, "U0D")) == 1 and dms_to(bot, "U0A") == []

    rotation = bot.runtime.services.rotations.named_rotation("payments")
    feed = rotation_feed_token(bot.runtime.settings.web_secret, "payments", rotation.feed_version)
    status, _, body = await get(bot, f"/rotations/payments.ics?token={feed}")
    assert status == 200
    primaries = sorted((e.decoded("dtstart").astimezone(UTC), e.decoded("dtend").astimezone(UTC), str(e["summary"]))
                       for e in Calendar.from_ical(body).walk("VEVENT") if " primary" in str(e["summary"]))
    assert primaries[0] == (THURSDAY_9_BERLIN, THURSDAY_9_BERLIN + timedelta(hours=7), "payments primary (emea): Dee")
    assert primaries[1][:2] == (THURSDAY_9_BERLIN + timedelta(hours=7), THURSDAY_9_BERLIN + timedelta(hours=23))
    for start, _end, summary in primaries:  # the feed agrees with who is on call at every edge
        assert summary.endswith(names[on_call_at(bot, start).primary]), (start, summary)

    token = page_token(bot.runtime.settings.web_secret, bot.clock.now())
    status, _, html = await get(bot, f"/rotations/payments?token={token}")
    assert status == 200 and "· emea layer" in html and "Dee" in html, html[:500]
    await say(bot, "handoff payments", user="U0B")
    [digest] = [p for p in bot.fake.calls_to("chat.postMessage") if p["text"].startswith("Handoff for payments")]
    assert "now the *emea* layer's" in json.dumps(digest["blocks"])

    answer = (await say(bot, "rotation layer remove payments emea"))["text"]
    assert answer.startswith("Done: removed the layer *emea*"), answer
    assert on_call_at(bot, THURSDAY_9_BERLIN + timedelta(days=7)).primary in ("U0A", "U0B", "U0C")
    assert layers(bot) == []


async def test_the_later_layer_wins_and_an_empty_layer_is_a_gap(bot):
    await with_rotation(bot)
    await say(bot, "rotation layer add payments days daily 00:00-00:00 UTC")
    await say(bot, "rotation layer roster payments days <@U0B|b>")
    await say(bot, "rotation layer add payments nights daily 20:00-08:00 UTC")  # no roster yet
    assert [r.name for r in layers(bot)] == ["days", "nights"]
    assert on_call_at(bot, THURSDAY_9_BERLIN).primary == "U0B"  # 08:00 UTC: nights just ended
    night = on_call_at(bot, THURSDAY_9_BERLIN - timedelta(hours=1))
    assert (night.layer, night.primary) == ("nights", None)
    shown = json.dumps(await say(bot, "oncall payments", user="U0B"), ensure_ascii=False)
    assert "nobody is primary from" in shown, shown
    again = (await say(bot, "rotation layer add payments days mon-fri 09:00-17:00"))["text"]  # changed in place
    assert "mon-fri 09:00–17:00 UTC" in again and [r.name for r in layers(bot)] == ["days", "nights"]
    listed = (await say(bot, "rotation layer payments"))["text"]
    assert "• *days*: mon-fri 09:00–17:00 UTC — <@U0B>" in listed and "• *nights*" in listed, listed


async def test_bad_layers_and_strangers_change_nothing_and_a_replay_is_applied_once(make_bot):
    bot = await make_bot(admins="U0ADMIN")
    await with_rotation(bot)
    for text, says in [("rotation layer add payments Bad! daily 08:00-16:00", "layer name"),
                       ("rotation layer add payments emea someday 08:00-16:00", "is not days"),
                       ("rotation layer add payments emea daily 8-16", "is not hours"),
                       ("rotation layer roster payments nosuch <@U0B|b>", "has no layer `nosuch`"),
                       ("rotation layer roster payments emea bob", "as mentions"),
                       ("rotation layer remove payments nosuch", "has no layer"),
                       ("rotation layer wobble payments", "Use `/incident rotation layer add")]:
        assert says in (await say(bot, text))["text"], text
    refused = await say(bot, "rotation layer add payments emea daily 08:00-16:00", user="U0STRANGER")
    assert refused["text"].startswith("Only the members of `payments`"), refused
    assert layers(bot) == []
    answers = await sent_twice(bot, "rotation layer add payments emea daily 08:00-16:00", user="U0A")
    assert answers[0].startswith("Done:") and answers[1].startswith("Already done:"), answers
    said = [p for p in bot.fake.calls_to("chat.postMessage") if "set the layer *emea*" in p["text"]]
    assert len(layers(bot)) == 1 and len(said) == 1
