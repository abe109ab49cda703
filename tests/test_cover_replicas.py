"""Two real `python -m bot` processes on one PostgreSQL: presses of I'll cover at the same moment through both make
exactly one override per request."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from bot.slack.ids import ActionId, BlockId
from tests.test_replicas import postgres_database, replicas  # noqa: F401 (a fixture)

REQUESTS = 4


async def test_two_processes_one_override_per_cover_request(tmp_path, fake_slack, postgres_database):  # noqa: F811
    async with replicas(tmp_path, fake_slack, postgres_database) as senders:
        for n in range(REQUESTS):  # one hour each, tomorrow, apart (whatever role U0A holds then: the real clock)
            _, body, _ = await senders[n % 2].command(
                f"rotation cover payments tomorrow {2 * n + 1:02d}:00 tomorrow {2 * n + 2:02d}:00",
                user="U0A", channel="C0PAY")
            assert body.startswith("Asked `payments`"), body

        def take_buttons() -> list[str]:
            return [e["value"] for (channel, _), m in list(fake_slack.messages.items()) if channel == "C0PAY"
                    for b in m.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]
                    if e["action_id"] == ActionId.COVER_TAKE]

        for _ in range(200):
            if len(take_buttons()) == REQUESTS:
                break
            await asyncio.sleep(0.05)
        values = take_buttons()
        assert len(values) == REQUESTS
        answers = await asyncio.gather(*(
            senders[n % 2].click(ActionId.COVER_TAKE, value, user=("U0B", "U0C")[n % 2], channel="C0PAY",
                                 block_id=BlockId.COVER_ACTIONS)
            for value in values for n in range(4)))
        assert all(status == 200 for status, _, _ in answers)
        for _ in range(200):
            if len(fake_slack.responses) >= len(answers):
                break
            await asyncio.sleep(0.05)
        texts = [r["text"] for r in fake_slack.responses]
        assert sum(t.startswith("Thanks!") for t in texts) == REQUESTS, texts
        engine = sa.create_engine(postgres_database.replace("postgresql://", "postgresql+psycopg://"))
        try:
            with engine.connect() as connection:
                overrides = connection.execute(sa.text(
                    "SELECT starts_at, count(*) FROM rotation_override GROUP BY starts_at")).all()
                taken = connection.execute(sa.text(
                    "SELECT count(*) FROM cover_request WHERE state = 'taken'")).scalar()
        finally:
            engine.dispose()
        assert len(overrides) == REQUESTS and {n for _, n in overrides} == {1}, overrides
        assert taken == REQUESTS
