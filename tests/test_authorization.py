"""Who may do what (SPEC §2), row by row: every mutating command and button against every kind of person.

An incident may be changed by its commander, its responders, its rotation's firefighters and ADMINS; a roster by
ADMINS, its creator and its members. Everyone else is told why and nothing changes.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.db.models import Incident, RotationMember, RotationOverride, RotationSwap, TimelineEvent
from bot.ids import ActionId
from tests.test_commands import reply_of

ROLES = {"commander": "U0CMD", "responder": "U0RESP", "firefighter": "U0FF", "admin": "U0ADMIN",
         "stranger": "U0STRANGER"}
INCIDENT_REFUSAL = "Only its commander <@U0CMD>, its responders, the rotation's firefighters or an admin can change"
ROSTER_REFUSAL = "Only the members of `payments`, its creator <@U0ADMIN> or an admin can change its roster."


async def setup(make_bot):
    bot = await make_bot(admins="U0ADMIN")
    bot.fake.add_channel("C0PAY", "payments-oncall")
    for user in (*ROLES.values(), "U0NEW"):
        bot.fake.add_user(user)
    await bot.slack.command("rotation create payments <#C0PAY|payments-oncall>", user="U0ADMIN")
    await bot.slack.command("rotation add <@U0FF>", user="U0ADMIN", channel="C0PAY")
    await bot.settle()
    return bot


async def fresh_incident(bot, title: str):
    incident = await bot.declare(title, priority="P2", commander="U0CMD")
    await bot.slack.command(f"responders add INC-{incident.number} <@U0RESP>", user="U0CMD")
    await bot.settle()
    return incident


def snapshot(bot) -> list:
    with bot.session() as s:
        return [[r.model_dump() for r in s.exec(select(m))] for m in
                (Incident, TimelineEvent, RotationMember, RotationOverride, RotationSwap)]


INCIDENT_COMMANDS = [
    "update INC-{n} progress", "status INC-{n} triaged", "priority INC-{n} P1", "commander INC-{n} <@U0NEW>",
    "responders INC-{n} add <@U0NEW>", "resolve INC-{n}", "close INC-{n} noise", "duplicate INC-{n} INC-1",
    "page INC-{n} <@U0NEW>",
]


@pytest.mark.parametrize("command", INCIDENT_COMMANDS)
async def test_incident_commands(make_bot, command):
    bot = await setup(make_bot)
    await bot.declare("The original", priority="P2", commander="U0CMD")
    for role, user in ROLES.items():
        incident = await fresh_incident(bot, f"for the {role}")
        before = snapshot(bot)
        _, body, _ = await bot.slack.command(command.format(n=incident.number), user=user)
        await bot.settle()
        answer = reply_of(body).get("text", "") if body else ""
        if role == "stranger":
            assert answer.startswith(INCIDENT_REFUSAL), (command, role, answer)
            assert snapshot(bot) == before, (command, role)
        else:
            assert not answer.startswith("Only its commander"), (command, role, answer)
            assert answer == "" or snapshot(bot) != before, (command, role, answer)


async def test_reopen(make_bot):
    bot = await setup(make_bot)
    for role, user in ROLES.items():
        incident = await fresh_incident(bot, f"for the {role}")
        await bot.slack.command(f"status INC-{incident.number} resolved fixed", user="U0CMD")
        await bot.settle()
        before = snapshot(bot)
        _, body, _ = await bot.slack.command(f"reopen INC-{incident.number}", user=user)
        await bot.settle()
        answer = reply_of(body)["text"]
        if role == "stranger":
            assert answer.startswith(INCIDENT_REFUSAL) and snapshot(bot) == before
        else:
            assert not answer.startswith("Only"), (role, answer)


@pytest.mark.parametrize(("action", "modal"), [(ActionId.ACKNOWLEDGE, False), (ActionId.TAKE_COMMAND, False),
                                               (ActionId.POST_UPDATE, True), (ActionId.RESOLVE, True),
                                               (ActionId.HANDOFF_NOTE, True)])
async def test_summary_and_digest_buttons(make_bot, action, modal):
    bot = await setup(make_bot)
    for role, user in ROLES.items():
        incident = await fresh_incident(bot, f"for the {role}")
        before, opened = snapshot(bot), len(bot.fake.calls_to("views.open"))
        answers = len(bot.fake.responses)
        await bot.slack.click(action, str(incident.number), user=user, channel=incident.channel_id)
        await bot.settle()
        said = [r["text"] for r in bot.fake.responses[answers:]]
        if role == "stranger":
            assert said and said[-1].startswith(INCIDENT_REFUSAL), (action, role, said)
            assert snapshot(bot) == before and len(bot.fake.calls_to("views.open")) == opened
        elif modal:
            assert len(bot.fake.calls_to("views.open")) == opened + 1, (action, role, said)
        else:
            assert not any(s.startswith("Only") for s in said), (action, role, said)


@pytest.mark.parametrize("command", ["rotation add <@U0NEW>", "rotation remove <@U0FF>", "rotation order <@U0FF>",
                                     "rotation override <@U0NEW> now tomorrow", "rotation swap <@U0FF> <@U0NEW>"])
async def test_roster_commands(make_bot, command):
    bot = await setup(make_bot)
    for role, user in ROLES.items():
        before = snapshot(bot)
        _, body, _ = await bot.slack.command(command, user=user, channel="C0PAY")
        await bot.settle()
        answer = reply_of(body)["text"]
        if role in ("firefighter", "admin"):
            assert answer != ROSTER_REFUSAL, (command, role)
        else:  # commanding or responding to an incident gives no say over the roster
            assert answer == ROSTER_REFUSAL and snapshot(bot) == before, (command, role, answer)
        if answer != ROSTER_REFUSAL and command.startswith("rotation remove"):
            await bot.slack.command("rotation add <@U0FF>", user="U0ADMIN", channel="C0PAY")
            await bot.settle()
