"""`python -m bot check`: is this installation ready? One line per part, ✓ or ✗, then exit 0 only when all are ✓.

Settings (as `python -m bot` would read them), the database (answers, schema at the newest migration), Slack
(`auth.test` with the bot token against SLACK_API_URL) and the token's scopes against the ones manifest.yml asks for
(Slack names the granted ones in the `x-oauth-scopes` header of every Web API answer), and each issue tracker
configured (its token, and the repository or project as that token sees it), and each provider beyond Slack (its
Apprise URL usable with an address of its kind; nothing is sent).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config import Settings, SettingsError, database_url, load_settings, setting_warnings
from bot.db.engine import DatabaseUnusable, open_database, shown_url
from bot.db.schema import head_revision, refuse_unknown_schema
from bot.delivery.providers import quiet_provider_logs, usable
from bot.domain.tracker import TRACKER_NAMES
from bot.trackers import Tracker, TrackerDown, TrackerRefused, make_trackers

# The bot scopes of manifest.yml (tests/test_check.py keeps the two in step).
REQUIRED_SCOPES = frozenset({
    "commands", "chat:write", "chat:write.public", "channels:manage", "channels:read", "channels:join",
    "channels:history", "groups:write", "groups:read", "groups:history", "im:write", "pins:write", "users:read",
    "users:read.email",
    "usergroups:read", "usergroups:write", "reactions:read", "pins:read",
})
SLACK_TIMEOUT = 10  # seconds


def check(say: Callable[[str], None] = print) -> int:
    """Print the report; 0 when every line is ✓, 1 otherwise (warnings alone do not fail)."""
    results: list[bool] = []

    def report(ok: bool, part: str, text: str) -> None:
        results.append(ok)
        say(f"{'✓' if ok else '✗'} {part}: {text}")

    settings: Settings | None = None
    try:
        settings = load_settings()
        mode = "Socket Mode" if settings.socket_mode else f"HTTP on {settings.host}:{settings.port}"
        report(True, "settings", f"valid ({mode})")
    except SettingsError as exc:
        report(False, "settings", str(exc))
    for line in setting_warnings(settings):
        say(f"⚠ settings: {line}")
    report(*_database(settings.database_url if settings else database_url()))
    if settings is None:
        report(False, "Slack", "not checked: the settings are not valid")
        return 1
    ok, text, scopes = _auth_test(settings)
    report(ok, "Slack", text)
    if ok:
        report(*_scopes(scopes))
    if settings.socket_mode:
        report(*_socket_mode(settings))
    if settings.sign_in:
        report(*_sign_in(settings))
    for name, tracker in make_trackers(settings).items():
        report(*asyncio.run(_tracker(name, tracker)))
    if settings.contact_urls:
        quiet_provider_logs()
    for kind, template in settings.contact_urls.items():
        report(*_provider(kind, template))
    return 0 if all(results) else 1


def _provider(kind: str, template: str) -> tuple[bool, str, str]:
    """Only the URL's scheme is shown: the rest may hold the provider's secrets."""
    setting, scheme = f"NOTIFY_{kind.upper()}_URL", urlsplit(template).scheme
    if usable(kind, template):
        return True, f"{kind} provider", f"{setting} ({scheme}://…) is a URL Apprise can send with (nothing sent; " \
                                         f"`/incident me contact test {kind}` tries it for real)"
    return False, f"{kind} provider", f"{setting} ({scheme}://…) is not a URL Apprise can use with a {kind} " \
                                      "address in `{to}`: see https://github.com/caronc/apprise/wiki"


def _database(url: str) -> tuple[bool, str, str]:
    missing = _missing_sqlite_file(url)
    if missing is not None:  # connecting would create it: a check leaves no file behind
        return False, "database", f"{shown_url(url)}: the file {missing} does not exist yet; " \
                                  "`python -m bot migrate` (or starting the bot) creates it"
    try:
        engine = open_database(url)
    except DatabaseUnusable as exc:
        return False, "database", str(exc)
    try:
        at, head = refuse_unknown_schema(engine), head_revision()
    except DatabaseUnusable as exc:
        return False, "database", str(exc)
    finally:
        engine.dispose()
    if at == head:
        return True, "database", f"{shown_url(url)} answers, schema at the newest migration ({head})"
    where = f"at migration {at}" if at else "empty"
    return False, "database", f"{shown_url(url)} answers but is {where}; the newest is {head}: " \
                              "run `python -m bot migrate` (the bot also migrates when it starts)"


def _missing_sqlite_file(url: str) -> Path | None:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None  # open_database says what is wrong with it
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:") \
            or parsed.query.get("mode") == "memory":
        return None
    path = Path(parsed.database)
    return None if path.exists() else path.resolve()


def _client(settings: Settings, token: str | None) -> WebClient:
    return WebClient(token=token, base_url=settings.slack_api_url, timeout=SLACK_TIMEOUT)


def _auth_test(settings: Settings) -> tuple[bool, str, set[str] | None]:
    """auth.test with the bot token; the scopes Slack says it grants (None when it does not say)."""
    where = settings.slack_api_url
    try:
        response = _client(settings, settings.slack_bot_token).auth_test()
    except SlackApiError as exc:
        return False, f"auth.test at {where} refused SLACK_BOT_TOKEN: {exc.response.get('error')}", None
    except OSError as exc:
        return False, f"cannot reach {where}: {getattr(exc, 'reason', None) or exc}", None
    header = next((value for name, value in response.headers.items() if name.lower() == "x-oauth-scopes"), None)
    text = f"auth.test at {where}: @{response.get('user')} in {response.get('team')} ({response.get('team_id')})"
    granted = {scope.strip() for scope in header.split(",") if scope.strip()} if header is not None else None
    return True, text, granted


def _scopes(granted: set[str] | None) -> tuple[bool, str, str]:
    if granted is None:
        return False, "scopes", "Slack's answer did not name the token's scopes (no x-oauth-scopes header)"
    missing = sorted(REQUIRED_SCOPES - granted)
    if not missing:
        return True, "scopes", f"the token has all {len(REQUIRED_SCOPES)} scopes manifest.yml asks for"
    return False, "scopes", f"the token lacks {', '.join(missing)}: add them to the app (OAuth & Permissions, " \
                            "or paste manifest.yml again) and reinstall it to the workspace"


async def _tracker(name: str, tracker: Tracker) -> tuple[bool, str, str]:
    part = TRACKER_NAMES[name]
    try:
        return True, part, await tracker.describe()
    except (TrackerDown, TrackerRefused) as exc:
        return False, part, exc.error
    finally:
        await tracker.close()


def _sign_in(settings: Settings) -> tuple[bool, str, str]:
    """SLACK_CLIENT_ID and _SECRET, tried on openid.connect.token with a code that cannot be right: Slack answers
    `invalid_code` only once it accepted the app's credentials."""
    client = WebClient(base_url=settings.slack_api_url, timeout=SLACK_TIMEOUT)
    try:
        client.openid_connect_token(client_id=settings.slack_client_id or "",
                                    client_secret=settings.slack_client_secret or "", code="firefighter-check")
    except SlackApiError as exc:
        error = str(exc.response.get("error", "")) if exc.response is not None else str(exc)
        if error == "invalid_code":
            return True, "Sign in with Slack", f"client {settings.slack_client_id} accepted; people come back to " \
                                               f"{settings.public_url}/auth/slack/callback (add it to the app's " \
                                               "redirect URLs)"
        return False, "Sign in with Slack", f"Slack refused SLACK_CLIENT_ID/SLACK_CLIENT_SECRET: {error}"
    except OSError as exc:
        return False, "Sign in with Slack", f"Slack could not be reached: {exc}"
    return False, "Sign in with Slack", "Slack accepted a code that cannot be right: is SLACK_API_URL Slack?"


def _socket_mode(settings: Settings) -> tuple[bool, str, str]:
    try:
        _client(settings, None).apps_connections_open(app_token=settings.slack_app_token)
    except SlackApiError as exc:
        return False, "Socket Mode", f"apps.connections.open refused SLACK_APP_TOKEN: {exc.response.get('error')}"
    except OSError as exc:
        return False, "Socket Mode", f"cannot reach {settings.slack_api_url}: {getattr(exc, 'reason', None) or exc}"
    return True, "Socket Mode", "SLACK_APP_TOKEN opens a connection"
