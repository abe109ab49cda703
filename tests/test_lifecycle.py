"""Working an incident with `/incident <verb>`: signed commands in, rows and timeline events stored, Slack told.

Each refusal (illegal transition, unknown incident, no permission, bad input) is one ephemeral line and changes
nothing: the tests compare the stored incident and its events before and after.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.db.models import RotationMember
from bot.domain.incident import Declaration, Priority, Status
from bot.services import Resolution
from bot.slack.ids import BlockId, CallbackId
from tests.test_commands import reply_of


async def run(bot, text: str, *, user: str = "U0COMMANDER", channel: str = "C0GENERAL") -> str:
    status, body, _ = await bot.slack.command(text, user=user, channel=channel)
    assert status == 200
    await bot.settle()
    return reply_of(body).get("text", "") if body else ""


def posted_in(bot, channel: str) -> list[str]:
    return [p["text"] for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == channel]


def snapshot(bot) -> list:
    """Everything stored about every incident, to prove a refused command changed nothing."""
    rows = []
    for incident in bot.incidents():
        rows.append((incident.model_dump(), [e.model_dump() for e in bot.events(incident)]))
    return rows


async def refused(bot, text: str, reason: str, **kwargs) -> None:
    before = snapshot(bot)
    answer = await run(bot, text, **kwargs)
    assert answer == reason
    assert snapshot(bot) == before


async def test_update_in_the_channel_or_from_anywhere(bot):
    incident = await bot.declare("Checkout is down", commander="U0COMMANDER")
    assert await run(bot, "update Rolled back the deploy", channel=incident.channel_id) == \
        "Posted your update to INC-1."
    assert await run(bot, "update INC-1 Error rate back to normal <!here>") == "Posted your update to INC-1."
    events = bot.events(incident)
    assert [(e.kind, e.text, e.actor_id) for e in events[-2:]] == [
        ("update", "Rolled back the deploy", "U0COMMANDER"), ("update", "Error rate back to normal <!here>",
                                                              "U0COMMANDER")]
    said = posted_in(bot, incident.channel_id)
    assert said[-1] == ":memo: *Update on INC-1* from <@U0COMMANDER>:\nError rate back to normal &lt;!here&gt;"
    assert bot.incidents()[0].last_update_at == bot.clock.now()
    # `update` alone opens the update form.
    await run(bot, "update", channel=incident.channel_id)
    view = (await bot.fake.wait_for("views.open", 2))[-1]["view"]
    assert view["callback_id"] == CallbackId.UPDATE_MODAL


async def test_status_moves_forward_and_the_summary_is_edited_in_place(bot):
    incident = await bot.declare("Checkout is down", commander="U0COMMANDER")
    assert await run(bot, "status triaged", channel=incident.channel_id) == "INC-1 is now *Triaged*."
    assert bot.incidents()[0].acknowledged_at == bot.clock.now()
    assert await run(bot, "status INC-1 in_progress") == "INC-1 is now *In progress*."
    assert await run(bot, "status blocked waiting on the vendor", channel=incident.channel_id) == \
        "INC-1 is now *Blocked*."
    assert bot.events(incident)[-1].text == "In progress → Blocked: waiting on the vendor"
    assert posted_in(bot, incident.channel_id)[-1] == (
        ":arrows_counterclockwise: <@U0COMMANDER> moved INC-1 from *In progress* to *Blocked*.\n"
        "> waiting on the vendor")
    update = bot.fake.calls_to("chat.update")[-1]
    assert update["channel"] == incident.channel_id and update["ts"] == incident.summary_ts
    assert "*Status*\\nBlocked" in json.dumps(update["blocks"])
    assert bot.fake.calls_to("conversations.setTopic")[-1]["topic"].startswith("P1 · Blocked · ")

    await refused(bot, "status triaged", "INC-1 is blocked; statuses move forward, it cannot go back to triaged.",
                  channel=incident.channel_id)
    await refused(bot, "status blocked", "INC-1 is already blocked.", channel=incident.channel_id)
    await refused(bot, "status done", "Status must be one of `triaged`, `in_progress`, `blocked`, `resolved`, "
                                      "`closed`, not `done`.", channel=incident.channel_id)
    await refused(bot, "status", "Which status? `/incident status <triaged|in_progress|blocked|resolved|closed> "
                                 "[note]`.", channel=incident.channel_id)


async def test_priority_changes_are_announced_and_a_raise_to_p0_also_in_the_incidents_channel(bot):
    incident = await bot.declare("Search is slow", commander="U0COMMANDER", priority="P2")
    announced = len(posted_in(bot, "C0INCIDENTS"))
    assert await run(bot, "priority P1", channel=incident.channel_id) == "INC-1 is now P1."
    assert len(posted_in(bot, "C0INCIDENTS")) == announced
    assert await run(bot, "priority INC-1 p0") == "INC-1 is now P0."
    assert posted_in(bot, incident.channel_id)[-1].startswith(
        ":arrow_up: <@U0COMMANDER> changed the priority of INC-1 from P1 to *P0*")
    raised = posted_in(bot, "C0INCIDENTS")[-1]
    assert "*INC-1* is now *P0* (raised by <@U0COMMANDER>): Search is slow." in raised
    assert f"<#{incident.channel_id}>" in raised
    assert [e.text for e in bot.events(incident) if e.kind == "priority"] == ["P2 → P1", "P1 → P0"]
    assert "P0" in json.dumps(bot.fake.calls_to("chat.update")[-1]["blocks"])
    assert await run(bot, "priority P1", channel=incident.channel_id) == "INC-1 is now P1."
    assert posted_in(bot, incident.channel_id)[-1].startswith(":arrow_down:")
    await refused(bot, "priority P1", "INC-1 is already P1.", channel=incident.channel_id)
    await refused(bot, "priority P5", "Priority must be P0, P1 or P2, not `P5`.", channel=incident.channel_id)


async def test_commander_and_responders(bot):
    incident = await bot.declare("Checkout is down", commander="U0COMMANDER")
    answer = await run(bot, "responders add <@U0OTHER|other> <@U0REPORTER|rep>", channel=incident.channel_id)
    assert answer == "Added <@U0OTHER>, <@U0REPORTER> to the responders of INC-1."
    # The reporter is in the channel since the declaration: Slack refuses that invite (`already_in_channel`), and
    # the bot invites the others alone.
    invites = bot.fake.calls_to("conversations.invite")[-2:]
    assert [set(i["users"].split(",")) for i in invites] == [{"U0OTHER", "U0REPORTER"}, {"U0OTHER"}]
    assert {"U0OTHER", "U0REPORTER"} <= bot.fake.channels[incident.channel_id]["members"]
    assert "*Responders*\\n<@U0OTHER>, <@U0REPORTER>" in json.dumps(bot.fake.calls_to("chat.update")[-1]["blocks"])
    await refused(bot, "responders add <@U0OTHER>", "<@U0OTHER> already is a responder on INC-1.",
                  channel=incident.channel_id)
    assert await run(bot, "responders remove INC-1 <@U0REPORTER>") == \
        "Removed <@U0REPORTER> from the responders of INC-1."
    await refused(bot, "responders remove <@U0REPORTER>", "<@U0REPORTER> is not a responder on INC-1.",
                  channel=incident.channel_id)
    await refused(bot, "responders add bob", "Use `/incident responders add @someone @someone-else` (or `remove`).",
                  channel=incident.channel_id)

    # A responder may hand command to someone else; the new commander is invited and the summary says so.
    assert await run(bot, "commander <@U0OTHER|other>", user="U0OTHER", channel=incident.channel_id) == \
        "<@U0OTHER> now commands INC-1."
    stored = bot.incidents()[0]
    assert stored.commander_id == "U0OTHER"
    assert bot.events(incident)[-1].text == "<@U0OTHER> is commander (was <@U0COMMANDER>)"
    assert "Commander: <@U0OTHER>" in bot.fake.calls_to("conversations.setTopic")[-1]["topic"]
    await refused(bot, "commander <@U0OTHER>", "<@U0OTHER> already commands INC-1.", user="U0OTHER",
                  channel=incident.channel_id)
    await refused(bot, "commander bob", "Name one person: `/incident commander @someone`.", user="U0OTHER",
                  channel=incident.channel_id)


async def test_resolve_opens_the_form_and_a_rollback_gets_an_analysis_draft(bot):
    incident = await bot.declare("Checkout is down", commander="U0COMMANDER", description="EU users get 500s")
    bot.clock.advance(minutes=4)
    await run(bot, "status in_progress", channel=incident.channel_id)
    bot.clock.advance(minutes=30)
    assert await run(bot, "resolve Rolled back 1.2.3", channel=incident.channel_id) == ""
    view = (await bot.fake.wait_for("views.open", 2))[-1]["view"]
    assert view["callback_id"] == CallbackId.RESOLVE_MODAL and view["private_metadata"] == "1"
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks[BlockId.RESOLVE_SUMMARY]["element"]["initial_value"] == "Rolled back 1.2.3"
    assert blocks[BlockId.ROLLBACK]["element"]["initial_option"]["value"] == "no"
    status, body, _ = await bot.slack.submit(view, {BlockId.ROLLBACK: "yes",
                                                    BlockId.FOLLOW_UPS: "Add a canary\n\nAlert on 5xx"},
                                             user="U0COMMANDER")
    assert status == 200 and body == ""
    await bot.settle()
    resolved = bot.incidents()[0]
    assert (resolved.status, resolved.resolution, resolved.needed_rollback) == ("resolved", "Rolled back 1.2.3", True)
    assert resolved.follow_ups == "Add a canary\nAlert on 5xx"
    draft = resolved.postmortem
    assert draft.startswith("# INC-1: Checkout is down\n")
    for part in ("## Summary\nRolled back 1.2.3", "- Rollback or hotfix needed: yes", "- Time to acknowledge: 4m",
                 "- Time to resolve: 34m", "## Impact", "EU users get 500s", "## Timeline (UTC)",
                 "- 2026-11-24 09:04 UTC — <@U0COMMANDER> status: New → In progress", "## Follow-ups\n"
                 "- [ ] #1 Add a canary — <@U0COMMANDER>\n- [ ] #2 Alert on 5xx — <@U0COMMANDER>"):
        assert part in draft
    said = posted_in(bot, incident.channel_id)
    assert said[-2].startswith(":white_check_mark: <@U0COMMANDER> resolved INC-1:\nRolled back 1.2.3\n*Follow-ups*")
    assert said[-1].startswith(":page_facing_up: *Incident analysis draft for INC-1*") and draft in said[-1]
    assert resolved.postmortem_ts
    summary = bot.fake.calls_to("chat.update")[-1]["blocks"]
    assert not any(b["type"] == "actions" for b in summary) and "reopen" in json.dumps(summary)

    # `timeline` returns the draft later, with a link to where it was posted.
    answer = await bot.slack.command("timeline INC-1")
    text = json.dumps(reply_of(answer[1])["blocks"])
    assert "Incident analysis draft" in text and "## Follow-ups" in text
    assert f"/archives/{incident.channel_id}/p{resolved.postmortem_ts.replace('.', '')}" in text


async def test_p0s_always_get_a_draft_and_quiet_p1s_do_not(bot):
    await bot.declare("Login broken", commander="U0COMMANDER", priority="P0")
    await bot.declare("Slow search", commander="U0COMMANDER", priority="P1")
    assert await run(bot, "status INC-1 resolved Restarted auth") == "INC-1 is now *Resolved*."
    assert await run(bot, "status INC-2 resolved Tuned the index") == "INC-2 is now *Resolved*."
    first, second = bot.incidents()
    assert first.postmortem.startswith("# INC-1: Login broken") and first.needed_rollback is None
    assert second.postmortem == "" and second.status == "resolved"
    # `status resolved` without a note asks for the summary in the form.
    await bot.declare("Another", commander="U0COMMANDER")
    assert await run(bot, "status INC-3 resolved") == ""
    assert (await bot.fake.wait_for("views.open", 4))[-1]["view"]["callback_id"] == CallbackId.RESOLVE_MODAL


async def test_reopen_close_and_illegal_transitions(bot):
    incident = await bot.declare("Checkout is down", commander="U0COMMANDER")
    await refused(bot, "reopen", "INC-1 is open (new); there is nothing to reopen.", channel=incident.channel_id)
    await run(bot, "status resolved Fixed it", channel=incident.channel_id)
    await refused(bot, "update still fine", "INC-1 is resolved; `reopen` it before you post an update.",
                  channel=incident.channel_id)
    await refused(bot, "status blocked", "INC-1 is resolved; `reopen` it before you change its status.",
                  channel=incident.channel_id)
    await refused(bot, "resolve", "INC-1 is already resolved.", channel=incident.channel_id)
    bot.clock.advance(hours=1)
    assert await run(bot, "reopen It is back", channel=incident.channel_id) == "Reopened INC-1."
    reopened = bot.incidents()[0]
    assert (reopened.status, reopened.resolved_at, reopened.reopen_count) == ("in_progress", None, 1)
    assert posted_in(bot, incident.channel_id)[-1] == (
        ":leftwards_arrow_with_hook: <@U0COMMANDER> reopened INC-1; it is *In progress* again.\n> It is back")
    assert await run(bot, "close Not an incident after all", channel=incident.channel_id) == "Closed INC-1."
    assert bot.events(incident)[-1].text == "Not an incident after all"
    await refused(bot, "reopen", "INC-1 is closed; only resolved incidents can be reopened. Declare a new incident "
                                 "instead.", channel=incident.channel_id)
    await refused(bot, "close", "INC-1 is closed; it stays that way. Declare a new incident instead.",
                  channel=incident.channel_id)


async def test_duplicates(bot):
    original = await bot.declare("Checkout is down", commander="U0COMMANDER")
    copy = await bot.declare("Cannot pay", commander="U0COMMANDER")
    closed = await bot.declare("Noise", commander="U0COMMANDER")
    await run(bot, "close INC-3")
    await refused(bot, "duplicate INC-2", "INC-2 cannot be a duplicate of itself.", channel=copy.channel_id)
    await refused(bot, "duplicate INC-9", "There is no INC-9.", channel=copy.channel_id)
    await refused(bot, "duplicate INC-3", "INC-3 is closed; a duplicate must point at an incident that was worked.",
                  channel=copy.channel_id)
    await refused(bot, "duplicate INC-1", "INC-3 is closed; it stays that way. Declare a new incident instead.",
                  channel=closed.channel_id)
    await refused(bot, "duplicate", "Name the original: `/incident duplicate INC-<m>` (in the duplicate's channel), "
                                    "or `/incident duplicate INC-<n> INC-<m>`.", channel=copy.channel_id)

    assert await run(bot, "duplicate INC-2 INC-1") == "INC-2 is now a duplicate of INC-1."
    stored = bot.incidents()[1]
    assert (stored.status, stored.duplicate_of) == ("duplicate", 1)
    assert bot.events(original)[-1].text == "INC-2 (Cannot pay) is a duplicate of this incident"
    assert "a duplicate of *INC-1* (Checkout is down)" in posted_in(bot, copy.channel_id)[-1]
    assert "marked INC-2 (Cannot pay) a duplicate of INC-1" in posted_in(bot, original.channel_id)[-1]
    assert "Duplicate of INC-1" in json.dumps(bot.fake.calls_to("chat.update")[-1]["blocks"])

    third = await bot.declare("Payments fail", commander="U0COMMANDER")
    await refused(bot, "duplicate INC-2", "INC-2 is itself a duplicate of INC-1; mark INC-4 a duplicate of INC-1.",
                  channel=third.channel_id)
    await refused(bot, "reopen INC-2", "INC-2 is a duplicate of INC-1; only resolved incidents can be reopened. "
                                       "Declare a new incident instead.")


async def test_unknown_incident_and_unknown_channel(bot):
    await refused(bot, "priority INC-99 P0", "There is no INC-99.")
    await refused(bot, "update hello", "Which incident? Run `/incident update` in the incident's channel, or name it: "
                                       "`/incident update INC-<n> …`.")
    await refused(bot, "timeline", "Which incident? Run `/incident timeline` in the incident's channel, or name it: "
                                   "`/incident timeline INC-<n>`.")


async def test_people_without_a_role_are_told_why_and_change_nothing(make_bot):
    bot = await make_bot(admins="U0ADMIN")
    bot.fake.add_user("U0ADMIN")
    incident = await bot.declare("Checkout is down", commander="U0COMMANDER")
    reason = ("Only its commander <@U0COMMANDER>, its responders, the rotation's firefighters, people paged for it or "
              "an admin can change INC-1. Ask to be added with `/incident responders add INC-1 @you`.")
    for text in ("update I think it is DNS", "priority P0", "status triaged", "commander <@U0OTHER>", "close",
                 "resolve", "responders add <@U0OTHER>"):
        await refused(bot, text, reason, user="U0OTHER", channel=incident.channel_id)
    # Buttons: refused privately, and no form opens.
    opened = len(bot.fake.calls_to("views.open"))
    for action in ("incident_post_update", "incident_take_command", "incident_resolve"):
        await bot.slack.click(action, "1", user="U0OTHER", channel=incident.channel_id)
        await bot.settle()
        assert (await bot.fake.wait_for_response())[-1]["text"] == reason
    assert len(bot.fake.calls_to("views.open")) == opened and bot.incidents()[0].commander_id == "U0COMMANDER"
    # Admins may, and so may people the commander adds.
    assert await run(bot, "priority P0", user="U0ADMIN", channel=incident.channel_id) == "INC-1 is now P0."
    await run(bot, "responders add <@U0OTHER>", channel=incident.channel_id)
    assert await run(bot, "update I think it is DNS", user="U0OTHER", channel=incident.channel_id) == \
        "Posted your update to INC-1."


async def test_the_rotations_firefighters_may_change_its_incidents(bot):
    rotation = bot.add_rotation("payments", "C0GENERAL")
    with bot.session() as s:
        s.add(RotationMember(rotation_id=rotation.id, user_id="U0OTHER", position=0))
        s.commit()
    incident = await bot.declare("Checkout is down", commander="U0COMMANDER")
    assert incident.rotation_id == rotation.id
    assert await run(bot, "status triaged", user="U0OTHER", channel=incident.channel_id) == "INC-1 is now *Triaged*."
    await refused(bot, "status in_progress", "Only its commander <@U0COMMANDER>, its responders, the rotation's "
                  "firefighters, people paged for it or an admin can change INC-1. Ask to be added with "
                  "`/incident responders add INC-1 @you`.", user="U0REPORTER", channel=incident.channel_id)


async def test_a_retried_command_is_applied_once(bot):
    incident = await bot.declare("Checkout is down", commander="U0COMMANDER")
    body = bot.slack.command_body("update Restarted the pods", user="U0COMMANDER", channel=incident.channel_id)
    status, first, _ = await bot.slack.post(body, "application/x-www-form-urlencoded")
    assert status == 200 and first == "Posted your update to INC-1."
    status, again, _ = await bot.slack.post(body, "application/x-www-form-urlencoded",
                                            extra_headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "timeout"})
    assert status == 200 and again == "Already done: INC-1 got this request before."
    await bot.settle()
    assert [e.kind for e in bot.events(incident)].count("update") == 1
    assert posted_in(bot, incident.channel_id).count(
        ":memo: *Update on INC-1* from <@U0COMMANDER>:\nRestarted the pods") == 1


async def test_list_mine_and_by_priority(bot):
    await bot.declare("Login broken", commander="U0COMMANDER", priority="P0")
    await bot.declare("Slow search", commander="U0OTHER", priority="P1")
    await bot.declare("Typo", priority="P2")
    await run(bot, "responders add INC-2 <@U0COMMANDER>", user="U0OTHER")

    async def listed(text: str, user: str = "U0COMMANDER") -> tuple[str, str]:
        _, body, _ = await bot.slack.command(text, user=user)
        answer = reply_of(body)
        return answer["text"], json.dumps(answer.get("blocks", []))

    text, blocks = await listed("list mine")
    assert text == "2 open incidents you command or respond to" and "INC-1" in blocks and "INC-3" not in blocks
    text, blocks = await listed("list P0")
    assert text == "1 open P0 incidents" and "INC-1" in blocks and "INC-2" not in blocks
    text, blocks = await listed("list p1")
    assert "INC-2" in blocks and "INC-1" not in blocks
    text, _ = await listed("list mine", user="U0REPORTER")
    assert text == "No open incidents you command or respond to. :tada:"


async def test_stats_on_a_seeded_history(bot):
    declaring, working = bot.runtime.services.declaring, bot.runtime.services.working
    start = bot.clock.now()

    def seed(title: str, priority: str, *, ack_after: int | None, resolve_after: int | None, days_ago: int):
        bot.clock.set(start - timedelta(days=days_ago))
        number = declaring.declare(Declaration(title=title, reporter_id="U0REPORTER", priority=Priority(priority),
                                             commander_id="U0COMMANDER")).incident.number
        if ack_after is not None:
            bot.clock.advance(minutes=ack_after)
            working.set_status(number, "U0COMMANDER", Status.IN_PROGRESS)
        if resolve_after is not None:
            bot.clock.advance(minutes=resolve_after)
            working.resolve(number, "U0COMMANDER", Resolution("fixed"))
        return number

    seed("a", "P0", ack_after=2, resolve_after=58, days_ago=1)
    seed("b", "P0", ack_after=10, resolve_after=110, days_ago=3)
    seed("c", "P1", ack_after=30, resolve_after=None, days_ago=5)
    reopened = seed("d", "P1", ack_after=6, resolve_after=234, days_ago=10)
    seed("e", "P2", ack_after=None, resolve_after=None, days_ago=45)
    working.reopen(reopened, "U0COMMANDER")
    bot.clock.set(start)

    _, body, _ = await bot.slack.command("stats")
    answer = reply_of(body)
    text = answer["blocks"][0]["text"]["text"]
    assert answer["text"] == "4 incidents in the last 30 days, 2 P0"
    assert "• *P0*: 2 declared, 2 resolved, 0 still open" in text
    assert "• *P1*: 2 declared, 0 resolved, 2 still open" in text
    assert "*Time to acknowledge*: median 8m, p90 24m (over 4)" in text
    assert "*Time to resolve*: median 1h 30m, p90 1h 54m (over 2)" in text
    assert "*Reopened*: 1" in text
    _, body, _ = await bot.slack.command("stats 60")
    assert reply_of(body)["text"].startswith("5 incidents in the last 60 days")
    _, body, _ = await bot.slack.command("stats forever")
    assert reply_of(body)["text"] == "`stats` takes a number of days from 1 to 3660 (default 30), not `forever`."


async def test_timeline_across_a_dst_change_in_the_team_timezone(make_bot):
    bot = await make_bot(team_timezone="Europe/Berlin")
    bot.clock.set(datetime(2026, 3, 29, 0, 30, tzinfo=UTC))  # 01:30 CET, half an hour before clocks go forward
    incident = await bot.declare("Night deploy broke login", commander="U0COMMANDER", priority="P0")
    bot.clock.set(datetime(2026, 3, 29, 1, 45, tzinfo=UTC))  # 03:45 CEST
    await run(bot, "update Rolled back", channel=incident.channel_id)
    bot.clock.set(datetime(2026, 3, 29, 2, 15, tzinfo=UTC))  # 04:15 CEST
    await run(bot, "status resolved Rollback done", channel=incident.channel_id)

    _, body, _ = await bot.slack.command("timeline", user="U0OTHER", channel=incident.channel_id)
    answer = reply_of(body)
    text = "\n".join(b["text"]["text"] for b in answer["blocks"] if b["type"] == "section")
    declared = int(datetime(2026, 3, 29, 0, 30, tzinfo=UTC).timestamp())
    updated = int(datetime(2026, 3, 29, 1, 45, tzinfo=UTC).timestamp())
    assert f"<!date^{declared}^{{date_short_pretty}} {{time}}|2026-03-29 01:30 CET>" in text
    assert f"<!date^{updated}^{{date_short_pretty}} {{time}}|2026-03-29 03:45 CEST>" in text
    assert text.index("declared") < text.index("Rolled back") < text.index("Rollback done")
    draft = bot.incidents()[0].postmortem
    assert "## Timeline (Europe/Berlin)" in draft
    assert "- 2026-03-29 01:30 CET — <@U0REPORTER> declared: P0: Night deploy broke login" in draft
    assert "- 2026-03-29 03:45 CEST — <@U0COMMANDER> update: Rolled back" in draft
    assert "- Time to resolve: 1h 45m" in draft  # real elapsed time, not wall-clock difference (2h 45m)


async def test_incidents_living_in_a_thread_are_worked_by_id_and_answered_in_the_thread(make_bot):
    bot = await make_bot(create_incident_channels="false")
    incident = await bot.declare("Checkout is down", commander="U0COMMANDER")
    assert incident.thread_ts and incident.channel_id == "C0INCIDENTS"
    assert await run(bot, "priority INC-1 P0") == "INC-1 is now P0."
    said = [p for p in bot.fake.calls_to("chat.postMessage") if p.get("thread_ts") == incident.thread_ts]
    assert said[-1]["text"].startswith(":arrow_up: <@U0COMMANDER> changed the priority of INC-1 from P1 to *P0*")
    # A raise to P0 is also said in the channel itself, not only inside the thread.
    raised = [p for p in bot.fake.calls_to("chat.postMessage") if "is now *P0*" in p["text"]]
    assert len(raised) == 1 and raised[0]["channel"] == "C0INCIDENTS" and not raised[0].get("thread_ts")
    assert bot.fake.calls_to("chat.update")[-1]["ts"] == incident.summary_ts


async def test_review_findings_on_odd_words_reopen_and_mentions(bot):
    incident = await bot.declare("Checkout is down", commander="U0COMMANDER", priority="P0")
    assert (await run(bot, "stats ²"))[:24] == "`stats` takes a number o"
    assert await run(bot, "status in progress", channel=incident.channel_id) == "INC-1 is now *In progress*."
    await run(bot, "update paging <@U0OTHER|other> and <!here> <https://evil.example|click>",
              channel=incident.channel_id)
    said = posted_in(bot, incident.channel_id)[-1]
    assert "<@U0OTHER|other>" in said and "&lt;!here&gt;" in said and "&lt;https://evil.example|click&gt;" in said
    await run(bot, "status resolved Restarted", channel=incident.channel_id)
    assert bot.incidents()[0].postmortem
    await run(bot, "reopen", channel=incident.channel_id)
    await run(bot, "priority P1", channel=incident.channel_id)
    assert bot.incidents()[0].postmortem == ""
    await run(bot, "status resolved Tuned it", channel=incident.channel_id)
    assert bot.incidents()[0].postmortem == ""
    assert "analysis draft follows" not in posted_in(bot, incident.channel_id)[-1]
    _, body, _ = await bot.slack.command("timeline", channel=incident.channel_id)
    text = json.dumps(reply_of(body)["blocks"])
    assert "<@U0COMMANDER> is commander" in text and "&lt;@U0COMMANDER&gt;" not in text
