"""The schema: the Alembic upgrade that runs at start-up, and the refusal of a schema this version does not know.

Alembic (with Mako, Pygments and every migration module it loads) costs the process that imports it about 9 MB
resident for the rest of its life, so the bot checks and migrates in a child forked for it
(bot/db/schema_apart.py) and the serving process never imports this module (SPEC § 7: under 120 MB at rest).
Commands (`migrate`, `check`, `import`, `config`) and tests use it directly."""

from __future__ import annotations

import functools
from importlib.resources import files

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from bot.db.engine import DatabaseUnusable, shown_url

# Inside the package (shipped by `pip install .` as package data), so an installed bot migrates without the source.
MIGRATIONS_DIR = files("bot") / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_to_head(engine: Engine) -> None:
    """`alembic upgrade head` on this engine; existing rows are kept, new tables and columns added."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        if MigrationContext.configure(connection).get_current_revision() == head_revision():
            return  # already there (every start but the first after an upgrade): alembic would load every migration
        if connection.dialect.name == "postgresql":  # a migration of a big table may take its time
            connection.execute(sa.text("SET LOCAL statement_timeout = 0"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None: never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def refuse_unknown_schema(engine: Engine) -> str | None:
    """The migration the database is at (None: never migrated); DatabaseUnusable when it is one this bot does not
    ship: a newer version migrated it, and this one would misread its rows. Downgrading is not offered; run the
    newer version or restore a backup."""
    current = current_revision(engine)
    if current is None:
        return None
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()}
    if current not in known:
        raise DatabaseUnusable(f"{shown_url(engine.url.render_as_string(hide_password=False))} is at schema "
                               f"{current!r}, which this version of the bot does not know (its newest is "
                               f"{head_revision()!r}): a newer version migrated it; run that version or restore "
                               "a backup taken before the upgrade")
    return current


@functools.cache
def head_revision() -> str | None:
    """The newest migration shipped with this version of the bot (read once: they ship with it)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()

