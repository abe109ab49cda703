"""Two applies of the configuration at once — the CLI's and `PUT /api/v1/config`, or two CI jobs — take turns: each
plans against what the one before it wrote (a read-then-write race otherwise: on PostgreSQL's READ COMMITTED two
plans of one old state could both be written, giving a configuration neither file says). On both databases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlmodel import Session, select

from bot.config import load_settings
from bot.config_io.cli import apply_config
from bot.config_io.model import Component, ConfigFile
from bot.db import repo
from bot.db.engine import make_engine
from bot.db.schema import upgrade_to_head
from bot.db.status_models import StatusComponent


def test_an_apply_waits_for_the_one_before_it(database_url):
    settings = load_settings(_env_file=None, slack_bot_token="x", slack_signing_secret="y", database_url=database_url)
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    first = ConfigFile(components=[Component(name="API")])
    second = ConfigFile(components=[Component(name="API"), Component(name="Checkout")])
    outcomes = []
    try:
        with Session(engine) as holder:
            repo.config_io.lock_configuration(session=holder)  # an apply in the middle of its transaction
            waiting = threading.Thread(target=lambda: outcomes.append(
                apply_config(second, engine, settings, now, prune=False, diff=False)))
            waiting.start()
            waiting.join(1.0)
            assert waiting.is_alive() and not outcomes  # it waits for the lock, not for a stale read
            holder.commit()
        waiting.join(30)
        assert outcomes and outcomes[0].applied and outcomes[0].count == 2
        again = apply_config(first, engine, settings, now, prune=False, diff=False)
        assert again.applied is False and again.count == 0  # API is there; Checkout kept (no prune)
        with Session(engine) as session:
            assert sorted(c.name for c in session.exec(select(StatusComponent))) == ["API", "Checkout"]
    finally:
        engine.dispose()
