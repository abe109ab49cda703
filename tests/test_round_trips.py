"""What a declaration from the form costs the database on PostgreSQL, counted statement by statement: each is a
round trip, and round trips are what sustained declarations wait on (SPEC § 7's end to end, docs/performance.md).
A budget like the Slack calls' one: a change that adds statements to the hot path shows here first."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.test_paging import with_rotation

# 1 stored declaration + 1 read of what is due + 11 in the claim (the claim, the rotation, the incident, its event,
# the claim become its set-up, 6 reads of who is on call; the number and the commit then go as one message on the
# driver's cursor, not counted here) + 2 in the checkpoint once the channel exists + 3 in the set-up's outcome.
# Before 2026-12-07 it was 23, and one more message for the number.
STATEMENTS_PER_DECLARATION = 18
COMMITS_PER_DECLARATION = 4  # the stored declaration, the claim (sent with its number), the checkpoint, the outcome


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_declaration_from_the_form_stays_within_its_round_trips(bot):
    await with_rotation(bot)
    view = await bot.open_declare(user="U0REPORTER", channel="C0GENERAL")
    statements, commits = [], []
    engine = bot.runtime.engine
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2].split()[0]))
    sa.event.listen(engine, "commit", lambda connection: commits.append(1))
    status, body, _ = await bot.slack.submit(view, {"title": "Checkout is down", "priority": "P2", "rotation": "1"},
                                             user="U0REPORTER")
    assert (status, body) == (200, "")
    await bot.settle()
    made, committed = list(statements), len(commits)
    incident = bot.incidents()[-1]
    assert incident.number == 1 and incident.channel_id and incident.announcement_ts  # declared and set up
    assert len(made) <= STATEMENTS_PER_DECLARATION, made
    assert committed <= COMMITS_PER_DECLARATION, committed
