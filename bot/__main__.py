"""`python -m bot`: HTTP mode by default, Socket Mode when SLACK_APP_TOKEN is set (HTTP still serves /healthz).

`python -m bot migrate` upgrades DATABASE_URL to the newest schema; `python -m bot import` moves schedules in from
Opsgenie or PagerDuty (bot/importers/cli.py); `python -m bot config export|apply` keeps the configuration
as YAML (bot/config_io/cli.py); `python -m bot check` says, line by line, whether
the settings, the database and the Slack token are ready. A setting, database or port that cannot be used stops
start-up with one line on stderr and exit code 2 (SPEC §3).
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import socket
import sys

from aiohttp import web

from bot.config import SettingsError, database_url, load_settings, setting_warnings

USAGE_ERROR = 2  # SPEC §3: a setting, database or port that cannot be used


class StartupError(Exception):
    """Start-up cannot go on; the message is one line naming the setting."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["import"]:  # its own options (bot/importers/cli.py)
        from bot.importers.cli import main as import_main

        return import_main(argv[1:])
    if argv[:1] == ["config"]:  # its own options (bot/config_io/cli.py)
        from bot.config_io.cli import main as config_main

        return config_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bot", description="Firefighter, the incident bot for Slack.")
    parser.add_argument("command", nargs="?", choices=("run", "migrate", "check", "import", "config"),
                        default="run",
                        help="run the bot (the default); migrate the database to the newest schema; "
                             "check settings, database and Slack, each with ✓ or ✗; import opsgenie|pagerduty "
                             "(see `python -m bot import --help`); config export|apply (see `python -m bot config "
                             "--help`)")
    command = parser.parse_args(argv).command
    if command == "migrate":
        return migrate()
    if command == "check":
        from bot.runtime.check import check

        return check()
    return run()


def run() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        return _refuse(str(exc))
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet = max(logging.WARNING, logging.getLogger().level)
    logging.getLogger("alembic").setLevel(quiet)
    # APScheduler says "Running job" and "executed successfully" at INFO on every tick: only DEBUG wants that.
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if settings.log_level == "DEBUG" else quiet)
    log = logging.getLogger("bot")
    for line in setting_warnings(settings):
        log.warning("%s", line)
    from bot.db.engine import DatabaseUnusable, open_database
    from bot.db.schema_apart import MigrationFailed, prepare_apart

    try:
        sockets = bind(settings.host, settings.port)
    except StartupError as exc:
        return _refuse(str(exc))
    try:
        open_database(settings.database_url).dispose()
        prepare_apart(settings.database_url)  # Alembic stays out of this process (bot/db/schema.py)
    except DatabaseUnusable as exc:
        _close(sockets)
        return _refuse(f"setting DATABASE_URL: {exc}")
    except Exception as exc:  # start-up must fail with one readable line, not a trace
        _close(sockets)
        line = str(exc) if isinstance(exc, MigrationFailed) else f"{exc.__class__.__name__}: {exc}"
        line = " ".join(line.split())
        print(f"firefighter: cannot start: {line}", file=sys.stderr)
        return 1
    from bot.runtime.wiring import build_runtime

    try:
        runtime = build_runtime(settings, clock=_clock(), migrate=False)
    except Exception as exc:  # start-up must fail with one readable line, not a trace
        _close(sockets)
        print(f"firefighter: cannot start: {exc.__class__.__name__}: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    for sock in sockets:  # connections from now on wait in the backlog until the app serves them
        sock.listen(128)
    # In Socket Mode the websocket to Slack opens in the background once this serves (bot/slack/socket_mode.py):
    # /healthz answers, 503 with "socket": "connecting", while Slack cannot be reached.
    mode = "Socket Mode" if settings.socket_mode else "HTTP (/slack/events)"
    log.info("Firefighter listening on %s:%s, %s", settings.host, settings.port, mode)
    web.run_app(runtime.web, sock=sockets, print=None,
                access_log=logging.getLogger("bot.access") if settings.log_level == "DEBUG" else None)
    return 0


def bind(host: str, port: int) -> list[socket.socket]:
    """Take HOST:PORT before anything else happens, so a port already in use is one line, not a trace after
    'listening'. One socket per address HOST resolves to, as aiohttp would make them."""
    try:
        addresses = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(f"setting HOST: cannot listen on {host!r}: {exc.strerror}") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(addresses):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except OSError as exc:
        _close(sockets)
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(f"setting PORT: {host}:{port} is already in use (another process listens there; "
                               "stop it or choose another PORT)") from None
        if exc.errno == errno.EACCES:
            raise StartupError(f"setting PORT: no permission to listen on {host}:{port} "
                               "(ports below 1024 need privileges)") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise StartupError(f"setting HOST: {host} is not an address of this machine") from None
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sockets


def migrate() -> int:
    """`python -m bot migrate`: DATABASE_URL (environment, then `.env`) to the newest schema, rows kept."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.db.engine import DatabaseUnusable, open_database, shown_url
    from bot.db.schema import current_revision, refuse_unknown_schema, upgrade_to_head

    url = database_url()
    try:
        engine = open_database(url)
    except DatabaseUnusable as exc:
        return _refuse(f"setting DATABASE_URL: {exc}")
    try:
        before = refuse_unknown_schema(engine)
    except DatabaseUnusable as exc:
        engine.dispose()
        return _refuse(f"setting DATABASE_URL: {exc}")
    try:
        upgrade_to_head(engine)
        after = current_revision(engine)
    except SQLAlchemyError as exc:
        print(f"firefighter: migrating {shown_url(url)} failed: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if before == after:
        print(f"{shown_url(url)}: already at the newest schema ({after})")
    else:
        print(f"{shown_url(url)}: migrated from {before or 'an empty database'} to {after} (the newest)")
    return 0


def open_for_command(**overrides: str):
    """(settings, engine) for a command of its own (`import`, `config`), checked as start-up checks them: a setting
    or a database it cannot use is a StartupError whose message is the one line to print."""
    from bot.db.engine import DatabaseUnusable, open_database
    from bot.db.schema import refuse_unknown_schema

    try:
        settings = load_settings(**overrides)
    except SettingsError as exc:
        raise StartupError(str(exc)) from None
    try:
        engine = open_database(settings.database_url)
    except DatabaseUnusable as exc:
        raise StartupError(f"setting DATABASE_URL: {exc}") from None
    try:
        refuse_unknown_schema(engine)
    except DatabaseUnusable as exc:
        engine.dispose()
        raise StartupError(f"setting DATABASE_URL: {exc}") from None
    return settings, engine


def _refuse(line: str) -> int:
    print(f"firefighter: {line}", file=sys.stderr)
    return USAGE_ERROR


def _close(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()


def _clock():
    """The system clock, unless a time-travel test hands the process a clock file (FIREFIGHTER_CLOCK_FILE)."""
    path = os.environ.get("FIREFIGHTER_CLOCK_FILE")
    if not path:
        return None
    from bot.clock import FileClock

    return FileClock(path)


if __name__ == "__main__":
    sys.exit(main())
