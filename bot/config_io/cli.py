"""`python -m bot config export [--file F]` and `python -m bot config apply F [--diff] [--prune]` (SPEC § HTTP API
and configuration as code). Exit 0 (also for --diff with changes to show, as `terraform plan` without
-detailed-exitcode); 2 when the file, a setting or the database cannot be used, or the plan is refused (nothing
changed); 1 when the database failed while writing (nothing changed: one transaction)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
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


@dataclass
class Outcome:
    """What applying a file did: the change lines, and why it was refused (nothing changed) or failed."""

    lines: list[str] = field(default_factory=list)
    count: int = 0
    problems: list[str] = field(default_factory=list)  # the file's (each one line)
    refused: str | None = None  # the plan's (a rotation still in use)
    failed: str | None = None  # the database's
    applied: bool = False


def apply_config(config: model.ConfigFile, engine: Engine, settings: Settings, now: datetime, *, prune: bool,
                 diff: bool, actor: str | None = None) -> Outcome:
    """The one way a file becomes the configuration, for `config apply` and `PUT /api/v1/config` alike."""
    base = base_handoff(settings)
    outcome = Outcome()
    with Session(engine, expire_on_commit=False) as session:
        repo.config_io.lock_configuration(session=session)
        have = export(session, base)
        named = {r.name for r in config.rotations}
        kept = set() if prune else {r.name for r in have.rotations} - named
        checker = Checker(lambda emails: repo.config_io.users_by_email(session=session, emails=emails), kept,
                          {r.channel: r.name for r in have.rotations if r.name in kept})
        try:
            want = checker.check(config)
        except model.FileProblems as exc:
            outcome.problems = exc.problems
            return outcome
        changes = plan(want, have, prune)
        outcome.lines, outcome.count = [line for change in changes for line in change.lines()], len(changes)
        if not changes or diff:
            session.rollback()
            return outcome
        try:
            Applier(session, base, now, actor or (settings.admins[0] if settings.admins else None)).apply(
                sort(changes), want, have, prune)
            session.commit()
            outcome.applied = True
        except Refused as exc:
            session.rollback()
            outcome.refused = str(exc)
        except SQLAlchemyError as exc:
            session.rollback()
            outcome.failed = (f"the database refused the change ({exc.__class__.__name__}: "
                              f"{' '.join(str(getattr(exc, 'orig', None) or exc).split())[:300]}); nothing was "
                              "changed. Another change may have come first: apply again.")
    return outcome


def apply(config: model.ConfigFile, options: argparse.Namespace, settings: Settings, engine: Engine, now: datetime,
          say: Callable[[str], None], complain: Callable[[str], None]) -> int:
    outcome = apply_config(config, engine, settings, now, prune=options.prune, diff=options.diff)
    if outcome.problems:
        return _refuse(outcome.problems, options.file, complain)
    if not outcome.count:
        say("No changes.")
        return 0
    for line in outcome.lines:
        say(line)
    if options.diff:
        say(f"{_count(outcome.count)} to make; --diff: nothing was changed.")
        return 0
    if outcome.refused:
        complain(f"✗ {outcome.refused}")
        complain("Nothing was changed.")
        return REFUSED
    if outcome.failed:
        complain(f"✗ {outcome.failed}")
        return FAILED
    say(f"Applied {_count(outcome.count)}.")
    return 0


def _count(count: int) -> str:
    return f"{count} change{'s' if count != 1 else ''}"


def _refuse(problems: list[str], file: str, complain: Callable[[str], None]) -> int:
    for problem in problems:
        complain(f"✗ {file}: {problem}")
    complain(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}; nothing was changed.")
    return REFUSED


def main(argv: list[str]) -> int:
    from bot.__main__ import StartupError, _clock, _refuse, open_for_command
    from bot.clock import SystemClock
    from bot.db.schema import upgrade_to_head

    options = parser().parse_args(argv)
    try:
        # This command never talks to Slack: its token and signing secret may be left out.
        settings, engine = open_for_command(slack_bot_token="unused-by-config",
                                            slack_signing_secret="unused-by-config")
    except StartupError as exc:
        return _refuse(str(exc))
    try:
        upgrade_to_head(engine)  # as the bot does when it starts: an empty database gets its tables
        clock = _clock() or SystemClock()
        return run(options, settings, engine, clock.now(), lambda line: print(line, flush=True),
                   lambda line: print(line, file=sys.stderr, flush=True))
    finally:
        engine.dispose()
