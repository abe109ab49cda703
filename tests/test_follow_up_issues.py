"""Each follow-up is also an issue in the configured tracker, and closing either closes both (SPEC §2
"Follow-ups"): GitHub and GitLab, both databases, against the fake trackers and their signed webhooks."""

from __future__ import annotations

import json

from sqlmodel import select

from bot.db.edge_models import FollowUpIssue
from bot.db.models import Delivery, FollowUp
from bot.slack.ids import BlockId
from tests.test_follow_ups import say
from tests.test_tracker_bridge import deliver, events_of
from tests.trackers import Side


def links(bot) -> dict[int, FollowUpIssue]:
    with bot.session() as s:
        return {link.follow_up_id: link for link in s.exec(select(FollowUpIssue))}


def syncs(bot, side: Side) -> int:
    with bot.session() as s:
        return len([d for d in s.exec(select(Delivery)) if d.kind == f"{side.name}_followup-sync"])


def done(bot, item_id: int) -> bool:
    with bot.session() as s:
        return s.get(FollowUp, item_id).done_at is not None


async def p1(bot) -> str:
    incident = await bot.declare("Checkout is down", priority="P1", user="U0A", commander="U0A")
    await deliver(bot)
    return incident.channel_id


async def test_a_follow_up_becomes_an_issue_closed_and_reopened_with_it(tracked, side: Side):
    bot = tracked
    channel = await p1(bot)
    assert (await say(bot, "followup add Add a canary for checkout <@U0B> due 2026-11-27", channel=channel)) \
        .startswith("Added follow-up #1")
    await deliver(bot)
    (issue,) = side.fake.issue_titled("INC-1 follow-up #1: ")
    assert issue["title"] == "INC-1 follow-up #1: Add a canary for checkout"
    assert "follow-up" in issue["labels"] and "firefighter" not in issue["labels"]  # not the incident queue
    assert "U0B" in issue["body"] and "2026-11-27" in issue["body"] and "closing this issue marks it done" in \
        issue["body"]
    assert links(bot)[1].number == issue["number"]
    assert any(f"for follow-up #1: {side.url_of(issue['number'])}" in e.text for e in events_of(bot, "tracker"))

    await say(bot, "followup done 1")
    await deliver(bot)
    assert side.fake.issues[issue["number"]]["state"] == "closed"
    await say(bot, "followup undone 1")
    await deliver(bot)
    assert side.fake.issues[issue["number"]]["state"] == "open"
    assert len(side.fake.issue_titled("INC-1 follow-up #1: ")) == 1


async def test_closing_the_issue_marks_the_follow_up_done_and_nothing_echoes(tracked, side: Side):
    bot = tracked
    channel = await p1(bot)
    await say(bot, "followup add Alert on 5xx", channel=channel)
    await deliver(bot)
    (issue,) = side.fake.issue_titled("INC-1 follow-up #1: ")
    writes = len(side.fake.writes())
    side.fake.issues[issue["number"]]["state"] = "closed"
    closed = side.event("closed", side.fake.issues[issue["number"]])
    for _ in range(2):  # delivered twice: done once
        status, answer = await side.send(bot, closed, delivery="close-1")
        assert status == 202
    assert done(bot, 1)
    texts = [e.text for e in events_of(bot, "follow-up")]
    assert texts.count("#1 done: Alert on 5xx (octocat on " + side.title + ")") == 1, texts
    await bot.settle()
    said = [m["text"] for m in bot.fake.calls_to("chat.postMessage") if m["channel"] == channel]
    assert any("*octocat on " in t and "marked follow-up #1 done" in t for t in said), said
    await deliver(bot)
    assert len(side.fake.writes()) == writes and syncs(bot, side) == 0  # the tracker is not told what it told us

    # The bot's own change coming back is no news; a reopening by a person is.
    side.fake.issues[issue["number"]]["state"] = "open"
    status, answer = await side.send(bot, side.event("reopened", side.fake.issues[issue["number"]],
                                                     sender=side.fake.login))
    assert status == 202 and answer["did"] == "ignored" and done(bot, 1)
    status, answer = await side.send(bot, side.event("reopened", side.fake.issues[issue["number"]]))
    assert answer["did"] == "follow-up reopened" and not done(bot, 1)
    # An older event arriving late changes nothing, nor one no newer than the last applied (trackers stamp to the
    # second: a tie cannot be told from the same body replayed); a later one counts.
    side.fake.issues[issue["number"]]["state"] = "closed"
    status, answer = await side.send(bot, side.event("closed", side.fake.issues[issue["number"]],
                                                     updated_at="2026-11-24T00:00:01Z"))
    assert answer["did"] == "ignored" and not done(bot, 1)
    at = "2026-11-24T23:00:00Z"
    await side.send(bot, side.event("closed", side.fake.issues[issue["number"]], updated_at=at))
    assert done(bot, 1)
    side.fake.issues[issue["number"]]["state"] = "open"
    status, answer = await side.send(bot, side.event("reopened", side.fake.issues[issue["number"]], updated_at=at))
    assert answer["did"] == "ignored" and "older event" in answer["reason"] and done(bot, 1)
    status, answer = await side.send(bot, side.event("reopened", side.fake.issues[issue["number"]],
                                                     updated_at="2026-11-24T23:00:01Z"))
    assert answer["did"] == "follow-up reopened" and not done(bot, 1)


async def test_a_replayed_close_never_marks_done_again_what_slack_reopened(tracked, side: Side):
    """Closed on the tracker (done), undone in Slack while the tracker is down: the captured `closed` body
    replayed under a new delivery id changes nothing, before our reopening reaches the tracker and after."""
    bot = tracked
    channel = await p1(bot)
    await say(bot, "followup add Alert on 5xx", channel=channel)
    await deliver(bot)
    (issue,) = side.fake.issue_titled("INC-1 follow-up #1: ")
    issue["state"] = "closed"
    closed = side.event("closed", issue)
    assert (await side.send(bot, closed))[1]["did"] == "follow-up done"
    side.fake.down()
    await say(bot, "followup undone 1")
    status, answer = await side.send(bot, closed)  # a new delivery id, the same signed body
    assert (status, answer["did"]) == (202, "ignored") and not done(bot, 1)
    side.fake.recover()
    await deliver(bot, ticks=3)
    assert issue["state"] == "open"
    status, answer = await side.send(bot, closed)
    assert (status, answer["did"]) == (202, "ignored") and not done(bot, 1)


async def test_an_edit_of_the_issue_never_undoes_what_slack_just_did(tracked, side: Side):
    """Done in Slack while the issue (still open: the tracker is slow) gets a label: the label's event carries
    the old state, and is no reopening."""
    bot = tracked
    channel = await p1(bot)
    await say(bot, "followup add Alert on 5xx", channel=channel)
    await deliver(bot)
    (issue,) = side.fake.issue_titled("INC-1 follow-up #1: ")
    side.fake.down()
    await say(bot, "followup done 1")
    side.fake.issues[issue["number"]]["labels"].append("observability")
    status, answer = await side.send(bot, side.event("labeled" if side.name == "github" else "edited",
                                                     side.fake.issues[issue["number"]]))
    assert status == 202 and answer["did"] == "ignored" and done(bot, 1)
    side.fake.recover()
    await deliver(bot, ticks=3)
    assert side.fake.issues[issue["number"]]["state"] == "closed"


async def test_a_follow_up_added_then_the_incident_resolved_at_once_gets_one_opening(tracked, side: Side):
    bot = tracked
    channel = await p1(bot)
    await say(bot, "followup add Alert on 5xx", channel=channel)
    await say(bot, "resolve Rolled back", channel=channel)
    view = (await bot.fake.wait_for("views.open", 2))[-1]["view"]
    await bot.slack.submit(view, {BlockId.FOLLOW_UPS: "Add a canary"}, user="U0A")  # the clock has not moved
    with bot.session() as s:
        opens = [json.loads(d.payload)["follow_up_id"] for d in s.exec(select(Delivery))
                 if d.kind == f"{side.name}_followup-open"]
    assert sorted(opens) == [1, 2]



async def test_the_resolve_forms_follow_ups_become_issues_and_the_tracker_down_delays_them(tracked, side: Side):
    bot = tracked
    channel = await p1(bot)
    side.fake.down()
    await say(bot, "resolve Rolled back", channel=channel)
    view = (await bot.fake.wait_for("views.open", 2))[-1]["view"]
    status, _, _ = await bot.slack.submit(view, {BlockId.FOLLOW_UPS: "Add a canary\nAlert on 5xx"}, user="U0A")
    assert status == 200
    await deliver(bot, ticks=4)
    assert links(bot) == {}
    side.fake.recover()
    await deliver(bot, ticks=4)
    assert sorted(i["title"] for i in side.fake.issue_titled("INC-1 follow-up #")) == [
        "INC-1 follow-up #1: Add a canary", "INC-1 follow-up #2: Alert on 5xx"]
    assert sorted(links(bot)) == [1, 2]


async def test_after_an_unclear_answer_only_the_bots_own_follow_up_issue_is_adopted(tracked, side: Side):
    """A planted `INC-1 follow-up #1: …` (another author, the marker copied) is never linked: closing it would
    mark the follow-up done."""
    bot = tracked
    channel = await p1(bot)
    planted = side.fake.add_issue("INC-1 follow-up #1: Alert on 5xx", ["follow-up"],
                                  body="<!-- firefighter:follow-up-1 -->", author="mallory")
    side.fake.fail(503, method="POST", path_contains="/issues")
    await say(bot, "followup add Alert on 5xx", channel=channel)
    await deliver(bot, 3)
    link = links(bot)[1]
    assert link.number != planted["number"] and side.fake.issues[link.number]["author"] == side.fake.login
    planted["state"] = "closed"
    status, answer = await side.send(bot, side.event("closed", planted, sender="mallory"))
    assert (status, answer["did"]) == (202, "ignored") and not done(bot, 1)
