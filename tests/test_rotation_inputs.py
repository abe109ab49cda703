"""Who-is-on-call's inputs read for many rotations at once (`oncall`, the App Home) are the same as read one by one,
and `oncall` over many rotations costs a fixed number of statements (SPEC § 7: 200 rotations of three layers)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from bot.services.rotation_inputs import Inputs, inputs_of
from tests.test_paging import with_rotation
from tests.test_rotations import say


def _facts(found: Inputs) -> tuple:
    return (found.members, [o.id for o in found.stored], found.overrides, found.swaps, found.away, found.layers,
            [(c.since, c.first_index) for c in found.plan.changes])


async def _two_rotations(bot) -> None:
    await with_rotation(bot)  # payments: U0A, U0B, U0C
    for user in ("U0D", "U0E"):
        bot.fake.add_user(user, tz="UTC")
    bot.fake.add_channel("C0SEARCH", "search-oncall", members=("U0A",))
    assert (await say(bot, "rotation create search <#C0SEARCH|search-oncall>"))["text"].startswith("Created")
    assert (await say(bot, "rotation add search <@U0D|d> <@U0E|e> <@U0B|b>"))["text"].startswith("Added")
    assert (await say(bot, "rotation set search shift 1d"))["text"].startswith("Done")  # other shift indices
    assert (await say(bot, "rotation swap payments <@U0B|b> <@U0C|c>"))["text"].startswith("Swapped")
    assert "is primary on `search`" in (await say(bot, "rotation override search <@U0A|a> tomorrow 2026-12-01"))["text"]
    assert (await say(bot, "pto add 2026-12-10 2026-12-12", user="U0B"))["text"].startswith("Recorded")
    assert (await say(bot, "pto add 2026-12-01 2026-12-03", user="U0E"))["text"].startswith("Recorded")
    assert (await say(bot, "rotation layer add payments emea mon-fri 08:00-16:00 UTC"))["text"].startswith("Done")
    assert (await say(bot, "rotation layer roster payments emea <@U0D|d>"))["text"].startswith("Done")


async def test_rotations_read_together_are_read_as_each_alone(bot):
    await _two_rotations(bot)
    rotations = bot.runtime.services.rotations
    both = [rotations.named_rotation("payments"), rotations.named_rotation("search")]
    for at in (bot.clock.now(), bot.clock.now() + timedelta(days=9)):
        with bot.session() as session:
            together = inputs_of(session, rotations.handoff, both, at)
            alone = {r.id: inputs_of(session, rotations.handoff, [r], at)[r.id] for r in both}
        assert {i: _facts(v) for i, v in together.items()} == {i: _facts(v) for i, v in alone.items()}
    with bot.session() as session:
        payments, search = inputs_of(session, rotations.handoff, both, bot.clock.now()).values()
    # every kind of row is there to tell them apart
    assert payments.layers and payments.swaps and not payments.stored and not payments.plan.changes
    assert search.stored and not search.swaps and search.plan.changes and not search.layers
    assert [a.user_id for a in payments.away] == ["U0B"] and [a.user_id for a in search.away] == ["U0E", "U0B"]

async def test_oncall_over_many_rotations_reads_a_fixed_number_of_statements(bot):
    await _two_rotations(bot)
    statements = []

    def count(_conn, _cursor, text, *_args) -> None:
        statements.append(text)

    async def oncall_statements() -> int:
        statements.clear()
        sa.event.listen(bot.runtime.engine, "before_cursor_execute", count)
        try:
            answer = await say(bot, "oncall")
        finally:
            sa.event.remove(bot.runtime.engine, "before_cursor_execute", count)
        assert "search" in str(answer) and "payments" in str(answer), answer
        return len(statements)

    few = await oncall_statements()
    for n in range(12):
        bot.fake.add_channel(f"C0T{n:04d}", f"team-{n}", members=("U0A",))
        assert (await say(bot, f"rotation create team-{n} <#C0T{n:04d}|team-{n}>"))["text"].startswith("Created")
        assert (await say(bot, f"rotation add team-{n} <@U0D|d> <@U0E|e>"))["text"].startswith("Added")
    many = await oncall_statements()
    # two rotations are shown with their gaps (a few more reads); fourteen without, still in one read per kind
    assert many <= few <= 16, (few, many, statements)
