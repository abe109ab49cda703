"""Checking and migrating the schema at start-up in a child process, so the serving process never imports Alembic
(bot/db/schema.py says why)."""

from __future__ import annotations

import multiprocessing

from bot.db.engine import DatabaseUnusable, make_engine


class MigrationFailed(Exception):
    """The upgrade to the newest schema failed; the message is one line: the error's class and text."""


def prepare_apart(url: str) -> None:
    """`refuse_unknown_schema`, then `upgrade_to_head`, in a child process forked for them (where fork is offered:
    elsewhere, here). Raises DatabaseUnusable (a schema this version does not know) or MigrationFailed. Called
    before the serving process starts any thread or opens any connection it would share with the child."""
    problem = _in_child(url) if "fork" in multiprocessing.get_all_start_methods() else _prepare(url)
    if problem is not None:
        kind, line = problem
        raise DatabaseUnusable(line) if kind == "unusable" else MigrationFailed(line)


def _in_child(url: str) -> tuple[str, str] | None:
    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)
    child = context.Process(target=_prepare_and_tell, args=(url, writer), name="firefighter-schema", daemon=True)
    child.start()
    writer.close()
    try:
        problem = reader.recv()
    except EOFError:  # it died without a word (killed, out of memory)
        child.join()
        problem = ("failed", f"the schema check and upgrade ended with exit code {child.exitcode}")
    finally:
        reader.close()
    child.join()
    return problem


def _prepare_and_tell(url: str, writer) -> None:
    writer.send(_prepare(url))
    writer.close()


def _prepare(url: str) -> tuple[str, str] | None:
    """None when the database is at the newest schema; else (kind, one line): plain strings cross the pipe where
    a driver's exception might not."""
    from bot.db import schema  # in the child only

    engine = make_engine(url)
    try:
        schema.refuse_unknown_schema(engine)
        schema.upgrade_to_head(engine)
    except DatabaseUnusable as exc:
        return "unusable", str(exc)
    except Exception as exc:  # said in one line by the parent, as start-up says any failure
        return "failed", f"{exc.__class__.__name__}: {' '.join(str(exc).split())}"
    finally:
        engine.dispose()
    return None

