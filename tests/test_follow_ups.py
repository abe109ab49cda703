"""Follow-ups that close the loop, end to end through signed requests: added by command or by the resolve form,
done and undone, reassigned and moved (each a timeline event), listed, reminded when overdue — in the owner's
business hours, once a day, across a weekend in two timezones — and listed per person in the handoff digest."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

from sqlmodel import select

from bot.db.models import FollowUp, TimelineEvent
from bot.slack.ids import BlockId, CallbackId
from tests.test_paging import with_rotation

FRIDAY = date(2026, 11, 27)


async def say(bot, text: str, user: str = "U0A", channel: str | None = None) -> str:
    status, body, _ = await bot.slack.command(text, user=user, channel=channel or "C0GENERAL")
    assert status == 200, body
    return body


async def listed(bot, text: str, user: str) -> str:
    """A reading command: answered after its ack, through its response_url."""
    status, body, _ = await bot.slack.command(text, user=user)
    assert status == 200, body
    return json.loads(body)["text"]


def items(bot) -> list[FollowUp]:
    with bot.session() as s:
        return list(s.exec(select(FollowUp).order_by(FollowUp.id)))


def events(bot) -> list[str]:
    with bot.session() as s:
        return [e.text for e in s.exec(select(TimelineEvent).where(TimelineEvent.kind == "follow-up")
                                       .order_by(TimelineEvent.id))]


def reminders(bot, user: str) -> list[str]:
    return [c["text"] for c in bot.fake.calls_to("chat.postMessage")
            if c["channel"] == user and c["text"].startswith(":alarm_clock:")]


async def incident(bot) -> str:
    await with_rotation(bot, people=(("U0A", "UTC"), ("U0B", "Asia/Tokyo"), ("U0C", "UTC")))
    declared = await bot.declare("Checkout is down", priority="P1", user="U0A", commander="U0A")
    return declared.channel_id


async def test_follow_ups_by_command_each_change_a_timeline_event(bot):
    channel = await incident(bot)
    answer = await say(bot, "followup add Add a canary for checkout <@U0B|b> due 2026-11-27", channel=channel)
    assert answer == "Added follow-up #1 to INC-1.", answer
    assert (await say(bot, "followup INC-1 add Alert on 5xx")) == "Added follow-up #2 to INC-1."
    [canary, alert] = items(bot)
    assert (canary.owner, canary.due_on, alert.owner, alert.due_on) == ("U0B", FRIDAY, "U0A", None)
    assert (await say(bot, "followup done 2")) == "Follow-up #2 is done."
    assert (await say(bot, "followup done 2")).startswith("Follow-up #2 is done already")
    assert (await say(bot, "followup undone 2")) == "Follow-up #2 is open again."
    assert (await say(bot, "followup 1 owner <@U0C>")) == "Follow-up #1 is <@U0C>'s now."
    assert (await say(bot, "followup 1 due 2026-12-04")) == "Follow-up #1 is due 2026-12-04."
    assert (await say(bot, "followup 1 due none")) == "Follow-up #1 is due no particular day."
    assert events(bot) == [
        "#1 Add a canary for checkout (<@U0B>, due 2026-11-27)", "#2 Alert on 5xx (<@U0A>)",
        "#2 done: Alert on 5xx", "#2 reopened: Alert on 5xx", "#1 is <@U0C>'s now (was <@U0B>'s)",
        "#1 due 2026-12-04", "#1 due no particular day"]
    body = await listed(bot, "followups open", "U0A")
    assert "#1 INC-1 Add a canary for checkout — <@U0C>" in body and "#2 INC-1 Alert on 5xx — <@U0A>" in body
    body = await listed(bot, "followups", "U0C")
    assert "#1 INC-1" in body and "#2" not in body


async def test_bad_follow_up_requests_say_why_and_change_nothing(bot):
    channel = await incident(bot)
    cases = {"followup add": "Say what must be done", "followup add x due someday": "A due day is like",
             "followup done 99": "There is no follow-up #99", "followup frobnicate": "Use `/incident followup",
             "followup 1 owner nobody": "Name one owner"}
    for text, expected in cases.items():
        assert (await say(bot, text, channel=channel)).startswith(expected), text
    assert (await say(bot, "followup add Fix it", user="U0STRANGER", channel=channel)).startswith("Only")
    body = await listed(bot, "followups sometimes", "U0A")
    assert "`followups` takes `mine`, `open` or `all`" in body
    assert items(bot) == [] and events(bot) == []


async def test_each_line_of_the_resolve_form_becomes_a_follow_up_of_the_commander(bot):
    channel = await incident(bot)
    await say(bot, "resolve Rolled back", channel=channel)
    view = (await bot.fake.wait_for("views.open", 2))[-1]["view"]
    assert view["callback_id"] == CallbackId.RESOLVE_MODAL
    status, body, _ = await bot.slack.submit(view, {BlockId.FOLLOW_UPS: "Add a canary\n\nAlert on 5xx"}, user="U0B")
    assert status == 200 and body == ""
    await bot.settle()
    assert [(i.text, i.owner, i.created_by) for i in items(bot)] == [("Add a canary", "U0A", "U0B"),
                                                                     ("Alert on 5xx", "U0A", "U0B")]


async def test_overdue_reminders_in_the_owners_hours_once_a_day_across_a_weekend(bot):
    channel = await incident(bot)
    await say(bot, "followup add Canary <@U0B> due 2026-11-27", channel=channel)  # U0B is in Tokyo
    await say(bot, "followup add Alerting due 2026-11-27", channel=channel)  # U0A (the commander), UTC
    for moment in (datetime(2026, 11, 27, 12, tzinfo=UTC),  # Friday: due today, not overdue
                   datetime(2026, 11, 28, 1, tzinfo=UTC),  # Saturday 10:00 in Tokyo
                   datetime(2026, 11, 28, 10, tzinfo=UTC),  # Saturday 10:00 in UTC
                   datetime(2026, 11, 29, 1, tzinfo=UTC),  # Sunday 10:00 in Tokyo
                   datetime(2026, 11, 29, 10, tzinfo=UTC)):  # Sunday 10:00 in UTC
        bot.clock.set(moment)
        await bot.tick()
    assert reminders(bot, "U0A") == [] and reminders(bot, "U0B") == []
    bot.clock.set(datetime(2026, 11, 30, 0, 30, tzinfo=UTC))  # Monday 09:30 in Tokyo, 00:30 in UTC
    await bot.tick()
    assert len(reminders(bot, "U0B")) == 1 and reminders(bot, "U0A") == []
    assert "Follow-up #1 of INC-1 was due 2026-11-27: Canary" in reminders(bot, "U0B")[0]
    bot.clock.set(datetime(2026, 11, 30, 9, 30, tzinfo=UTC))  # 09:30 UTC; 18:30 in Tokyo
    await bot.tick()
    await bot.tick(minutes=30)
    assert len(reminders(bot, "U0A")) == 1 and len(reminders(bot, "U0B")) == 1, "once a day"
    await say(bot, "followup done 2")
    bot.clock.set(datetime(2026, 12, 1, 9, 30, tzinfo=UTC))  # Tuesday
    await bot.tick()
    assert len(reminders(bot, "U0A")) == 1, "done: no more reminders"
    bot.clock.set(datetime(2026, 12, 2, 0, 30, tzinfo=UTC))  # Wednesday 09:30 in Tokyo
    await bot.tick()
    assert len(reminders(bot, "U0B")) == 2, "a new day in Tokyo (no tick fell in its Tuesday hours)"


async def test_the_handoff_digest_lists_overdue_follow_ups_per_person(bot):
    channel = await incident(bot)
    await say(bot, "followup add Canary <@U0B> due 2026-11-26", channel=channel)
    await say(bot, "followup add Alerting due 2026-11-26", channel=channel)
    await say(bot, "followup add Docs due 2026-12-24", channel=channel)
    bot.clock.set(datetime(2026, 11, 30, 12, tzinfo=UTC))
    await say(bot, "handoff payments", channel="C0PAY")
    await bot.settle()
    digest = [c for c in bot.fake.calls_to("chat.postMessage") if c["channel"] == "C0PAY"
              and "Handoff for" in (c.get("text") or "")][-1]
    section = next(b["text"]["text"] for b in digest["blocks"] if "Overdue follow-ups" in b.get("text", {}).get(
        "text", ""))
    assert "*Overdue follow-ups* (2)" in section
    assert "• <@U0A>: #2 INC-1 Alerting (due 2026-11-26)" in section
    assert "• <@U0B>: #1 INC-1 Canary (due 2026-11-26)" in section and "Docs" not in section


async def test_the_incident_page_lists_its_follow_ups(bot):
    from bot.http.tokens import page_token

    channel = await incident(bot)
    await say(bot, "followup add Add a canary <@U0B> due 2026-11-27", channel=channel)
    await say(bot, "followup add Alerting", channel=channel)
    await say(bot, "followup done 2")
    token = page_token(bot.runtime.settings.web_secret, bot.clock.now())
    async with bot.slack.session.get(f"{bot.url}/incidents/1?token={token}") as response:
        page = await response.text()
    shown = re.sub(r"<(?!/?s>)[^>]+>", "", page)  # as read: people by name (the fake's are named as their ids)
    assert "#1 Add a canary — U0B · due 2026-11-27" in shown
    assert "#2 <s>Alerting</s> (done) — U0A" in shown


async def test_an_owner_off_the_roster_marks_their_own_follow_up_and_due_may_be_a_word(bot):
    channel = await incident(bot)
    bot.fake.add_user("U0OUTSIDER")
    await say(bot, "followup add Check the due date parser <@U0OUTSIDER>", channel=channel)
    [item] = items(bot)
    assert (item.text, item.owner, item.due_on) == ("Check the due date parser", "U0OUTSIDER", None)
    assert (await say(bot, "followup done 1", user="U0OUTSIDER")) == "Follow-up #1 is done."
    assert (await say(bot, "followup 1 due tomorrow", user="U0OUTSIDER")).startswith("Only")
    resolved = await say(bot, "status INC-1 resolved Fixed", user="U0A")
    assert resolved.startswith("INC-1 is now")


async def test_the_analysis_draft_lists_the_follow_ups_as_items(bot):
    await with_rotation(bot, people=(("U0A", "UTC"), ("U0B", "Asia/Tokyo"), ("U0C", "UTC")))
    declared = await bot.declare("Checkout is down", priority="P0", user="U0A", commander="U0A")
    await say(bot, "followup add Add a canary <@U0B> due 2026-11-27", channel=declared.channel_id)
    await say(bot, "followup add Alerting", channel=declared.channel_id)
    await say(bot, "followup done 2")
    await say(bot, "status INC-1 resolved Rolled back")
    await bot.settle()
    draft = bot.incidents()[0].postmortem
    assert "## Follow-ups\n- [ ] #1 Add a canary — <@U0B> (due 2026-11-27)\n- [x] #2 Alerting — <@U0A>" in draft
