"""Two real `python -m bot` processes on one PostgreSQL: an admin binding the same Slack user group to two rotations
at the same moment through both gets it bound to exactly one (SPEC §5: never a group already bound elsewhere —
checking and binding is a read-then-write, settled by one lock for all bindings)."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from tests.test_replicas import postgres_database, replicas  # noqa: F401 (a fixture)

ROUNDS = 6


async def test_one_group_bound_at_once_to_two_rotations_through_two_processes_follows_one(
        tmp_path, fake_slack, postgres_database):  # noqa: F811
    fake_slack.add_channel("C0SEARCH", "search-oncall", members=("U0A",))
    for n in range(ROUNDS):
        fake_slack.add_usergroup(f"S0GROUP{n}", f"group-{n}")
    async with replicas(tmp_path, fake_slack, postgres_database, ADMINS="U0A") as senders:
        _, body, _ = await senders[0].command("rotation create search <#C0SEARCH|search-oncall>", user="U0A")
        assert body.startswith("Created the rotation"), body
        _, body, _ = await senders[1].command("rotation add search <@U0B>", user="U0A")
        assert body.startswith("Added"), body
        for n in range(ROUNDS):
            group = f"<!subteam^S0GROUP{n}|@group-{n}>"
            answers = await asyncio.gather(*(
                senders[side].command(f"rotation usergroup {rotation} {group}", user="U0A",
                                      channel=channel)
                for side, (rotation, channel) in enumerate((("payments", "C0PAY"), ("search", "C0SEARCH")))))
            texts = [body for _, body, _ in answers]
            assert sum("already follows the rotation" in t for t in texts) == 1, (n, texts)
        engine = sa.create_engine(postgres_database.replace("postgresql://", "postgresql+psycopg://"))
        try:
            with engine.connect() as connection:
                bound = connection.execute(sa.text(
                    "SELECT group_id, count(*) FROM rotation_usergroup GROUP BY group_id")).all()
        finally:
            engine.dispose()
        assert all(count == 1 for _, count in bound), bound
