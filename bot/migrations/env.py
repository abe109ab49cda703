"""Alembic environment: used by start-up and `python -m bot migrate` (a connection is passed in) and by the
`alembic` CLI, which finds the database as the bot does: DATABASE_URL from the environment, then `.env`, then
alembic.ini's url."""

from alembic import context
from sqlmodel import SQLModel

from bot.config import database_url
from bot.db import contact_models, edge_models, models, schedule_models, status_models  # noqa: F401  (registers the tables on SQLModel.metadata)
from bot.db.engine import make_engine, normalize_url

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    return normalize_url(database_url(default=config.get_main_option("sqlalchemy.url") or None))


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
