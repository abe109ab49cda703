"""Schema changes ship as Alembic migrations; upgrading keeps every row; the models match the migrations."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import Session, SQLModel, select

from bot.db.engine import make_engine, upgrade_to_head
from bot.db.models import Incident, TimelineEvent


def test_upgrade_creates_the_tables_and_the_models_match(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ff.db'}")
    upgrade_to_head(engine)
    assert {"incident", "timeline_event", "rotation", "alembic_version"} <= set(sa.inspect(engine).get_table_names())
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == [], "models changed without a migration: run `alembic revision --autogenerate`"


def test_upgrading_again_keeps_every_row_and_timestamps_come_back_aware(tmp_path):
    url = f"sqlite:///{tmp_path / 'ff.db'}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    at = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    with Session(engine) as session:
        incident = Incident(number=1, title="Kept", priority="P1", reporter_id="U1", created_at=at, updated_at=at)
        session.add(incident)
        session.flush()
        session.add(TimelineEvent(incident_id=incident.id, at=at, kind="declared", text="x"))
        session.commit()
    engine.dispose()
    again = make_engine(url)
    upgrade_to_head(again)
    with Session(again) as session:
        stored = session.exec(select(Incident)).one()
        assert stored.title == "Kept" and stored.created_at == at and stored.created_at.tzinfo is not None
        assert len(session.exec(select(TimelineEvent)).all()) == 1


def test_naive_datetimes_are_refused(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ff.db'}")
    upgrade_to_head(engine)
    with Session(engine) as session:
        naive = datetime(2026, 1, 1)
        session.add(Incident(number=1, title="x", priority="P1", reporter_id="U1", created_at=naive, updated_at=naive))
        try:
            session.commit()
        except sa.exc.StatementError as exc:
            assert "naive" in str(exc)
        else:
            raise AssertionError("a naive datetime was stored")


def test_upgrading_from_0001_keeps_incidents_and_fills_the_new_columns(tmp_path):
    from alembic import command

    from bot.db.engine import alembic_config
    url = f"sqlite:///{tmp_path / 'ff.db'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(sa.text(
            "INSERT INTO incident (number, title, description, priority, status, impacts, reporter_id, "
            "slack_steps_done, created_at, updated_at) VALUES (7, 'Old one', '', 'P0', 'resolved', '', 'U1', 'done', "
            "'2026-01-01 10:00:00', '2026-01-01 11:00:00')"))
    upgrade_to_head(engine)
    with Session(engine) as session:
        old = session.exec(select(Incident)).one()
        assert (old.number, old.title, old.status) == (7, "Old one", "resolved")
        assert (old.reopen_count, old.resolution, old.postmortem, old.duplicate_of) == (0, "", "", None)
        assert old.created_at == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
