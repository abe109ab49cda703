"""Roles beyond the commander (SPEC § Incident types, private incidents and roles): `role comms|scribe @person|none`
— a timeline event each, the person invited and made a responder; the communications lead gets the P0 update nags
and the commander is told; the scribe is asked to put key messages on the timeline; the roles show on the summary,
the board and the postmortem; a stranger may not set them, and a retried command sets them once."""

from __future__ import annotations

from datetime import UTC

from sqlmodel import select

from bot.db import repo
from bot.db.models import Incident
from tests.test_reminders import said, working_p0


def incident_of(bot) -> Incident:
    with bot.session() as session:
        return session.exec(select(Incident)).one()


async def test_the_communications_lead_gets_the_p0_nags_and_the_commander_is_told(bot):
    incident = await working_p0(bot)
    status, body, _ = await bot.slack.command("role comms <@U0COMMS|cora>", user="U0A",  # a firefighter
                                              channel=incident.channel_id)
    await bot.settle()
    assert status == 200 and "<@U0COMMS> is the communications lead of INC-1." in body, body
    assert incident_of(bot).comms_id == "U0COMMS"
    assert [e.text for e in bot.events(incident) if e.kind == "role"] == ["<@U0COMMS> is communications lead"]
    with bot.session() as session:
        assert "U0COMMS" in repo.incidents.responder_ids(session=session, incident_id=incident.id)
    assert "U0COMMS" in bot.fake.channels[incident.channel_id]["members"]  # invited
    assert said(bot, "is now the communications lead of INC-1", "U0COMMANDER")  # the commander is told
    assert said(bot, "<@U0A> made <@U0COMMS> the communications lead of INC-1", incident.channel_id)
    await bot.tick(minutes=60)
    nag = said(bot, ":alarm_clock:", incident.channel_id)
    assert nag[0]["text"].startswith(":alarm_clock: <@U0COMMS> (communications lead): *INC-1* (P0) Checkout is "
                                     "down has had no update for 1h."), nag
    assert len(said(bot, ":alarm_clock:", "U0COMMS")) == 1 and said(bot, ":alarm_clock:", "U0COMMANDER") == []
    told = said(bot, "was reminded to post one", "U0COMMANDER")
    assert len(told) == 1 and told[0]["text"].startswith(":information_source: *INC-1* (P0) Checkout is down")
    status, body, _ = await bot.slack.command("update Rolled back the deploy", user="U0COMMS",
                                              channel=incident.channel_id)  # a responder now: allowed
    assert status == 200 and "I could not" not in body and "Only" not in body, body
    await bot.slack.command("role comms none", user="U0COMMANDER", channel=incident.channel_id)
    await bot.settle()
    assert incident_of(bot).comms_id is None
    await bot.tick(minutes=60)
    assert said(bot, ":alarm_clock:", incident.channel_id)[-1]["text"].startswith(":alarm_clock: <@U0COMMANDER>:")


async def test_the_scribe_is_asked_to_pin_and_roles_show_on_the_summary_board_and_analysis(bot):
    incident = await working_p0(bot)
    for text in ("role scribe <@U0SCRIBE>", "role comms <@U0COMMS>"):
        status, body, _ = await bot.slack.command(text, user="U0COMMANDER", channel=incident.channel_id)
        assert status == 200, body
    await bot.settle()
    [ask] = said(bot, "You are the scribe of INC-1", "U0SCRIBE")
    assert ":pushpin:" in ask["text"]
    summary = bot.fake.messages[(incident.channel_id, incident_of(bot).summary_ts)]
    fields = [f["text"] for f in summary["blocks"][1]["fields"]]
    assert "*Communications lead*\n<@U0COMMS>" in fields and "*Scribe*\n<@U0SCRIBE>" in fields
    from bot.views.postmortem import postmortem
    with bot.session() as session:
        responders = repo.incidents.responder_ids(session=session, incident_id=incident.id)
        draft = postmortem(incident_of(bot), bot.events(incident), responders, UTC)
    assert "- Communications lead: <@U0COMMS>" in draft and "- Scribe: <@U0SCRIBE>" in draft


async def test_strangers_may_not_and_a_retry_sets_a_role_once(bot):
    incident = await working_p0(bot)
    status, body, _ = await bot.slack.command("role comms <@U0STRANGER>", user="U0STRANGER",
                                              channel=incident.channel_id)
    assert status == 200 and incident_of(bot).comms_id is None, body
    status, body, _ = await bot.slack.command("role boss <@U0X>", user="U0COMMANDER", channel=incident.channel_id)
    assert "Use `/incident role comms @someone`" in body
    body = bot.slack.command_body("role comms <@U0COMMS>", user="U0COMMANDER", channel=incident.channel_id)
    for _ in range(2):  # Slack's retry, or two replicas each handed it
        assert (await bot.slack.post(body, "application/x-www-form-urlencoded"))[0] == 200
    await bot.settle()
    assert [e.kind for e in bot.events(incident)].count("role") == 1
    status, body, _ = await bot.slack.command("role comms <@U0COMMS>", user="U0COMMANDER",
                                              channel=incident.channel_id)
    assert "is the communications lead of INC-1 already" in body
