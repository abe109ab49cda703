"""Engines for SQLite and PostgreSQL. The schema and its migrations are bot/db/schema.py: Alembic is loaded only
where a schema is checked or migrated, not in the serving process (bot/__main__.py)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.engine import Engine

POOL_SIZE = 10  # the database's threads (8) and the odd use from the event loop's own thread
CONNECT_TIMEOUT = 5  # seconds: a database that does not answer is said so in time (/healthz), not waited for
# A statement (a lock wait included) cut off after this: a request that waited longer has lost Slack's 3 s anyway,
# and background work is tried again. A transaction left idle (a thread stuck mid-way) lets go of its locks.
STATEMENT_TIMEOUT_MS = 15_000
IDLE_IN_TRANSACTION_MS = 60_000
# SQLite's page cache, per connection, instead of its default 2 MB. The file's pages stay in the system's cache, so
# a page not in this one costs a read from memory (the tick at 100,000 stored: 9.1 ms against 20). With the default,
# each connection's cache filled towards its cap as the file grew and the bot's memory with it, burst after burst
# (10,000 declarations: +2.4 MB after the first burst, +1.5 MB with this; docs/performance.md).
SQLITE_CACHE_KIB = 512


def normalize_url(url: str) -> str:
    """`postgres://` and `postgresql://` (as hosting platforms hand them out) use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
                # In WAL mode a commit survives the process dying without waiting for the disk (SQLite's advice
                # for WAL); only a power cut may take the last moments back. PostgreSQL for more.
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")  # negative: KiB, not pages
            cursor.close()

        return engine
    # No ping before each use (a round trip per checkout): connections are recycled now and then, and work that
    # meets a dropped one is tried once more on a fresh one (Database.run).
    options = (f"-c statement_timeout={STATEMENT_TIMEOUT_MS} "
               f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}")
    return sa.create_engine(url, pool_size=POOL_SIZE, max_overflow=POOL_SIZE, pool_recycle=1800,
                            connect_args={"connect_timeout": CONNECT_TIMEOUT, "options": options})


def database_answers(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return True
    except sa.exc.SQLAlchemyError:
        return False


class DatabaseUnusable(Exception):
    """DATABASE_URL names no database this process can use; the message is one line for the operator."""


def shown_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return " ".join(text.split()) or exc.__class__.__name__


def open_database(url: str) -> Engine:
    """An engine on DATABASE_URL that has answered once; DatabaseUnusable (one line) when the URL cannot be
    understood, its driver is missing or the database does not answer."""
    shown = shown_url(url)
    try:
        engine = make_engine(url)
    except sa.exc.NoSuchModuleError:
        scheme = url.split(":", 1)[0]
        raise DatabaseUnusable(f"{shown}: {scheme!r} is not a database SQLAlchemy knows "
                               "(use sqlite:///firefighter.db or postgresql://user:pass@host/db)") from None
    except (sa.exc.ArgumentError, ValueError):
        raise DatabaseUnusable(f"{shown!r} is not a database URL "
                               "(use sqlite:///firefighter.db or postgresql://user:pass@host/db)") from None
    except ImportError as exc:
        raise DatabaseUnusable(f"{shown} needs the Python driver {exc.name or _one_line(exc)!r}, which is not "
                               "installed (SQLite and PostgreSQL work out of the box)") from None
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        engine.dispose()
        raise DatabaseUnusable(f"cannot use {shown}: {_one_line(exc)}") from None
    return engine
