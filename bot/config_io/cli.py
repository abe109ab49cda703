"""`python -m bot config export [--file F]` and `python -m bot config apply F [--diff] [--prune]` (SPEC § HTTP API
and configuration as code). Exit 0 (also for --diff with changes to show, as `terraform plan` without
-detailed-exitcode); 2 when the file, a setting or the database cannot be used, or the plan is refused (nothing
changed); 1 when the database failed while writing (nothing changed: one transaction)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.config import Settings
from bot.config_io import model
from bot.config_io.apply import Applier, Refused
from bot.config_io.check import Checker
from bot.config_io.export import export
from bot.config_io.plan import plan, sort
from bot.db import repo
from bot.domain.rotation import Handoff

REFUSED, FAILED = 2, 1


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m bot config", description="Configuration as code: rotations, "
                                  "layers, policies, holidays, routes, types and components as YAML.")
    commands = top.add_subparsers(dest="command", required=True)
    out = commands.add_parser("export", help="write the configuration as YAML (no secrets, no incidents)")
    out.add_argument("--file", "-f", help="write it to this file (default: standard output)")
    into = commands.add_parser("apply", help="make the database match a file")
    into.add_argument("file", help="the YAML file (`-` for standard input)")
    into.add_argument("--diff", action="store_true", help="only print what would change; change nothing")
    into.add_argument("--prune", action="store_true", help="also remove what the file does not name")
    return top


def base_handoff(settings: Settings) -> Handoff:
    """The team's handoff (HANDOFF_WEEKDAY, HANDOFF_TIME, TEAM_TIMEZONE): a rotation's until it sets its own."""
    return Handoff(settings.handoff_weekday, settings.handoff_time, settings.team_timezone)


def export_text(engine: Engine, settings: Settings) -> str:
    with Session(engine, expire_on_commit=False) as session:
        return model.dump(export(session, base_handoff(settings)))


def run(options: argparse.Namespace, settings: Settings, engine: Engine, now: datetime,
        say: Callable[[str], None], complain: Callable[[str], None]) -> int:
    if options.command == "export":
        text = export_text(engine, settings)
        if not options.file:
            say(text.rstrip("\n"))
            return 0
        try:
            Path(options.file).write_text(text, encoding="utf-8")
        except OSError as exc:
            complain(f"✗ cannot write {options.file}: {exc.strerror or exc}")
            return REFUSED
        say(f"Wrote the configuration to {options.file}.")
        return 0
    try:
        text = sys.stdin.read() if options.file == "-" else Path(options.file).read_text(encoding="utf-8")
        config = model.parse(text)
    except OSError as exc:
        complain(f"✗ cannot read {options.file}: {exc.strerror or exc}")
        return REFUSED
    except UnicodeDecodeError:
        complain(f"✗ {options.file} is not UTF-8 text")
        return REFUSED
    except model.FileProblems as exc:
        return _refuse(exc.problems, options.file, complain)
    return apply(config, options, settings, engine, now, say, complain)


def apply(config: model.ConfigFile, options: argparse.Namespace, settings: Settings, engine: Engine, now: datetime,
          say: Callable[[str], None], complain: Callable[[str], None]) -> int:
    base = base_handoff(settings)
    with Session(engine, expire_on_commit=False) as session:
        have = export(session, base)
        named = {r.name for r in config.rotations}
        kept = set() if options.prune else {r.name for r in have.rotations} - named
        checker = Checker(lambda emails: repo.config_io.users_by_email(session=session, emails=emails), kept,
                          {r.channel: r.name for r in have.rotations if r.name in kept})
        try:
            want = checker.check(config)
        except model.FileProblems as exc:
            return _refuse(exc.problems, options.file, complain)
        changes = plan(want, have, options.prune)
        if not changes:
            say("No changes.")
            return 0
        for change in changes:
            for line in change.lines():
                say(line)
        if options.diff:
            session.rollback()
            say(f"{_count(changes)} to make; --diff: nothing was changed.")
            return 0
        try:
            Applier(session, base, now, settings.admins[0] if settings.admins else None).apply(
                sort(changes), want, have, options.prune)
            session.commit()
        except Refused as exc:
            session.rollback()
            complain(f"✗ {exc}")
            complain("Nothing was changed.")
            return REFUSED
        except SQLAlchemyError as exc:
            session.rollback()
            complain(f"✗ the database refused the change ({exc.__class__.__name__}: "
                     f"{' '.join(str(getattr(exc, 'orig', None) or exc).split())[:300]}); nothing was changed. "
                     "Another change may have come first: run apply again.")
            return FAILED
    say(f"Applied {_count(changes)}.")
    return 0


def _count(changes: list) -> str:
    return f"{len(changes)} change{'s' if len(changes) != 1 else ''}"


def _refuse(problems: list[str], file: str, complain: Callable[[str], None]) -> int:
    for problem in problems:
        complain(f"✗ {file}: {problem}")
    complain(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}; nothing was changed.")
    return REFUSED


def main(argv: list[str]) -> int:
    from bot.__main__ import _clock
    from bot.clock import SystemClock
    from bot.config import SettingsError, load_settings
    from bot.db.engine import DatabaseUnusable, open_database, refuse_unknown_schema, upgrade_to_head

    options = parser().parse_args(argv)
    try:
        # This command never talks to Slack: its token and signing secret may be left out.
        settings = load_settings(slack_bot_token="unused-by-config", slack_signing_secret="unused-by-config")
        engine = open_database(settings.database_url)  # as start-up does: a database it cannot use is one line
    except SettingsError as exc:
        print(f"firefighter: {exc}", file=sys.stderr)
        return REFUSED
    except DatabaseUnusable as exc:
        print(f"firefighter: setting DATABASE_URL: {exc}", file=sys.stderr)
        return REFUSED
    try:
        try:
            refuse_unknown_schema(engine)
        except DatabaseUnusable as exc:
            print(f"firefighter: setting DATABASE_URL: {exc}", file=sys.stderr)
            return REFUSED
        upgrade_to_head(engine)  # as the bot does when it starts: an empty database gets its tables
        clock = _clock() or SystemClock()
        return run(options, settings, engine, clock.now(), lambda line: print(line, flush=True),
                   lambda line: print(line, file=sys.stderr, flush=True))
    finally:
        engine.dispose()
