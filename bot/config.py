"""Settings from the environment (or `.env`), validated once at start-up.

Every name here is part of the public contract (SPEC §3). A bad value must stop start-up with one
line naming the variable, so `load_settings()` turns pydantic's report into `SettingsError`.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from collections.abc import Mapping
from datetime import time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain.burden import Rates, parse_rates
from bot.domain.errors import UserError
from bot.domain.holidays import HolidayCalendar, parse_calendar
from bot.slack.text import parse_channel_ref

_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_ISO_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line meant for the operator."""


def parse_duration(value: Any) -> timedelta:
    """`90s`, `15m`, `1h`, `2d`, plain seconds or ISO 8601 (`PT1H`) -> timedelta (must be positive)."""
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, int | float):
        result = timedelta(seconds=value)
    else:
        text = str(value).strip()
        compact = text.lower().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d+)?", compact):
            result = timedelta(seconds=float(compact))
        elif m := re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", compact):
            result = timedelta(seconds=float(m.group(1)) * _DURATION_UNITS[m.group(2)])
        elif (m := _ISO_DURATION.match(text.upper())) and text.upper() not in ("P", "PT"):
            parts = {k: float(v) for k, v in m.groupdict().items() if v}
            result = timedelta(days=parts.get("d", 0), hours=parts.get("h", 0),
                               minutes=parts.get("m", 0), seconds=parts.get("s", 0))
        else:
            raise ValueError(f"{text!r} is not a duration (use 90s, 15m, 1h, plain seconds or ISO 8601 like PT1H)")
    if result <= timedelta(0):
        raise ValueError("must be longer than zero")
    return result


def _parse_clock_time(text: str) -> time:
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"{text!r} is not a time of day (use HH:MM, e.g. 09:00)")
    return time(int(m.group(1)), int(m.group(2)))


def _parse_weekday(text: str) -> int:
    key = text.strip().lower()
    for index, name in enumerate(_WEEKDAY_NAMES):
        if len(key) >= 3 and name.startswith(key):
            return index
    raise ValueError(f"{text!r} is not a weekday (use mon, tuesday, …)")


DurationSetting = Annotated[timedelta, NoDecode]


class Settings(BaseSettings):
    """One validated view of SPEC §3; built only by `load_settings()`."""

    # `NAME=` (empty) reads as unset, so an empty required setting is reported as required, not as a bad value.
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      case_sensitive=False, validate_default=True, env_ignore_empty=True)

    slack_bot_token: str = Field(min_length=1)
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///firefighter.db"
    host: str = "0.0.0.0"
    port: int = Field(default=3000, ge=1, le=65535)
    incidents_channel: str | None = None
    create_incident_channels: bool = True
    team_timezone: Annotated[ZoneInfo, NoDecode] = "UTC"  # type: ignore[assignment]
    working_hours: Annotated[tuple[time, time], NoDecode] = "09:00-17:00"  # type: ignore[assignment]
    working_days: Annotated[frozenset[int], NoDecode] = "mon-fri"  # type: ignore[assignment]
    handoff_weekday: Annotated[int, NoDecode] = "tuesday"  # type: ignore[assignment]
    handoff_time: Annotated[time, NoDecode] = "10:00"  # type: ignore[assignment]
    p0_update_interval: DurationSetting = "60m"  # type: ignore[assignment]
    p0_renag_interval: DurationSetting = "30m"  # type: ignore[assignment]
    p1_resolution_target: DurationSetting = "8h"  # type: ignore[assignment]
    triage_target: DurationSetting = "4h"  # type: ignore[assignment]
    escalation_timeout_p0: DurationSetting = "5m"  # type: ignore[assignment]
    escalation_timeout_p1: DurationSetting = "30m"  # type: ignore[assignment]
    scheduler_tick: DurationSetting = "30s"  # type: ignore[assignment]
    delivery_lease: DurationSetting = "2m"  # type: ignore[assignment]  # (not in SPEC §3: an operator's knob)
    alerts_token: str | None = None
    alerts_auto_resolve: bool = True
    alert_storm_threshold: int = Field(default=10, ge=1, le=1000)
    alert_storm_window: DurationSetting = "5m"  # type: ignore[assignment]
    admins: Annotated[tuple[str, ...], NoDecode] = ()
    public_url: str | None = None
    web_secret: str | None = None
    log_level: str = "INFO"
    # The issue tracker (SPEC §2 "Issue tracker"): GitHub, GitLab, both or neither.
    github_repo: str | None = None
    github_token: str | None = None
    github_api_url: str = "https://api.github.com"
    github_webhook_secret: str | None = None
    gitlab_project: str | None = None
    gitlab_token: str | None = None
    gitlab_url: str = "https://gitlab.com"
    gitlab_webhook_token: str | None = None
    queue_label: str = "firefighter"
    timeline_emoji: str = "pushpin"
    heartbeat_url: str | None = None
    # Sign in with Slack (OpenID Connect) on the web board: both, or neither (read-only board behind signed links).
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    holidays: Annotated[HolidayCalendar | None, NoDecode] = None  # the team's public holidays: `DE-BY`, `US`
    oncall_rates: Annotated[Rates | None, NoDecode, BeforeValidator(  # per hour on call by kind (`rotation report`)
        lambda v: v if v is None or isinstance(v, Rates) else parse_rates(str(v)))] = None
    status_page: bool = False  # serve the public status page at /status (SPEC § Status page)
    status_page_title: str | None = Field(default=None, max_length=100)  # its name; the workspace's by default
    # Reaching people beyond Slack (SPEC §2): Apprise URLs with `{to}`, holding the providers' secrets.
    notify_sms_url: str | None = Field(default=None, repr=False)
    notify_push_url: str | None = Field(default=None, repr=False)
    notify_email_url: str | None = Field(default=None, repr=False)

    @field_validator("slack_bot_token", "slack_signing_secret", "slack_app_token", "alerts_token",
                     "incidents_channel", "public_url", "web_secret", "github_repo", "github_token",
                     "github_webhook_secret", "gitlab_project", "gitlab_token", "gitlab_webhook_token",
                     "heartbeat_url", "slack_client_id", "slack_client_secret", "notify_sms_url",
                     "notify_push_url", "notify_email_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else (v.strip() if isinstance(v, str) else v)

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, v: str) -> str:
        if not re.match(r"^https?://", v):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v if v.endswith("/") else v + "/"

    @field_validator("github_api_url", "gitlab_url")
    @classmethod
    def _tracker_url(cls, v: str) -> str:
        v = v.strip()
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v.rstrip("/")

    @field_validator("heartbeat_url")
    @classmethod
    def _heartbeat_url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^/\s]+", v):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v

    @field_validator("github_repo")
    @classmethod
    def _github_repo(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", v):
            raise ValueError(f"{v!r} is not a repository (use owner/name, e.g. acme/infra)")
        return v

    @field_validator("gitlab_project")
    @classmethod
    def _gitlab_project(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"\d+|[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+", v):
            raise ValueError(f"{v!r} is not a project (use its path like group/project, or its numeric id)")
        return v

    @field_validator("timeline_emoji", mode="before")
    @classmethod
    def _emoji(cls, v: Any) -> str:
        name = str(v).strip().strip(":")
        if not re.fullmatch(r"[a-z0-9_+'-]{1,100}", name):
            raise ValueError(f"{v!r} is not an emoji name (like pushpin or :pushpin:)")
        return name

    @field_validator("queue_label", mode="before")
    @classmethod
    def _queue_label(cls, v: Any) -> str:
        label = str(v).strip()
        if not label or "," in label or len(label) > 50:
            raise ValueError(f"{v!r} is not a label (1-50 characters, no comma)")
        return label

    @field_validator("incidents_channel")
    @classmethod
    def _channel(cls, v: str | None) -> str | None:
        if v is None:
            return None
        ref = parse_channel_ref(v)
        if ref is None:
            raise ValueError(f"{v!r} is not a channel (use an id like C0123ABCD, #name or <#C0123ABCD|name>)")
        return ref

    @field_validator("team_timezone", mode="before")
    @classmethod
    def _zone(cls, v: Any) -> ZoneInfo:
        if isinstance(v, ZoneInfo):
            return v
        try:
            return ZoneInfo(str(v).strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not an IANA time zone (e.g. Europe/Berlin)") from None

    @field_validator("working_hours", mode="before")
    @classmethod
    def _hours(cls, v: Any) -> tuple[time, time]:
        if isinstance(v, tuple):
            return v
        start, sep, end = str(v).partition("-")
        if not sep:
            raise ValueError(f"{v!r} is not a range of hours (use 09:00-17:00)")
        begin, finish = _parse_clock_time(start), _parse_clock_time(end)
        if finish <= begin:
            raise ValueError(f"{v!r}: the end must come after the start")
        return begin, finish

    @field_validator("working_days", mode="before")
    @classmethod
    def _days(cls, v: Any) -> frozenset[int]:
        if isinstance(v, frozenset | set):
            return frozenset(v)
        days: set[int] = set()
        for part in str(v).split(","):
            if not part.strip():
                continue
            first, sep, last = part.partition("-")
            a = _parse_weekday(first)
            b = _parse_weekday(last) if sep else a
            days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        if not days:
            raise ValueError("needs at least one day (e.g. mon-fri)")
        return frozenset(days)

    @field_validator("handoff_weekday", mode="before")
    @classmethod
    def _weekday(cls, v: Any) -> int:
        return v if isinstance(v, int) else _parse_weekday(str(v))

    @field_validator("handoff_time", mode="before")
    @classmethod
    def _time(cls, v: Any) -> time:
        return v if isinstance(v, time) else _parse_clock_time(str(v))

    @field_validator("p0_update_interval", "p0_renag_interval", "p1_resolution_target", "triage_target",
                     "escalation_timeout_p0", "escalation_timeout_p1", "scheduler_tick", "delivery_lease",
                     "alert_storm_window", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> timedelta:
        return parse_duration(v)

    @field_validator("admins", mode="before")
    @classmethod
    def _admins(cls, v: Any) -> tuple[str, ...]:
        items = v if isinstance(v, list | tuple) else str(v or "").split(",")
        ids = tuple(i.strip() for i in items if i.strip())
        for user_id in ids:
            if not re.fullmatch(r"[UW][A-Z0-9]+", user_id):
                raise ValueError(f"{user_id!r} is not a Slack user id (like U0123ABCD)")
        return ids

    @field_validator("holidays", mode="before")
    @classmethod
    def _holidays(cls, v: Any) -> HolidayCalendar | None:
        if v is None or isinstance(v, HolidayCalendar):
            return v
        if not str(v).strip():
            return None
        try:
            return parse_calendar(str(v))
        except UserError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("notify_sms_url", "notify_push_url", "notify_email_url")
    @classmethod
    def _provider_url(cls, v: str | None) -> str | None:
        """Checked without ever repeating the URL: it holds the provider's secrets."""
        if v is not None and "{to}" not in v:
            raise ValueError("must hold {to} where a person's address goes (an Apprise URL)")
        if v is not None and not re.match(r"^[a-z][a-z0-9+.-]*://", v, re.IGNORECASE):
            raise ValueError("is not an Apprise URL (scheme://…)")
        return v

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, v: Any) -> str:
        level = str(v).strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"{v!r} is not a log level (DEBUG, INFO, WARNING, ERROR)")
        return level

    @model_validator(mode="after")
    def _mode_needs(self) -> Settings:
        if self.slack_app_token is None and not self.slack_signing_secret:
            raise ValueError("SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)")
        for repo, token, names in ((self.github_repo, self.github_token, ("GITHUB_REPO", "GITHUB_TOKEN")),
                                   (self.gitlab_project, self.gitlab_token, ("GITLAB_PROJECT", "GITLAB_TOKEN"))):
            if (repo is None) != (token is None):
                given, missing = names if repo is not None else names[::-1]
                raise ValueError(f"{missing} is required with {given} (set both, or neither for no tracker)")
        if (self.slack_client_id is None) != (self.slack_client_secret is None):
            given, missing = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET") if self.slack_client_id is not None \
                else ("SLACK_CLIENT_SECRET", "SLACK_CLIENT_ID")
            raise ValueError(f"{missing} is required with {given} (set both for Sign in with Slack, or neither)")
        if self.public_url is None:
            self.public_url = f"http://localhost:{self.port}"
        self.public_url = self.public_url.rstrip("/")
        if self.web_secret is None:
            seed = (self.slack_signing_secret or self.slack_app_token or "").encode()
            self.web_secret = hashlib.sha256(b"firefighter-web:" + seed).hexdigest()
        return self

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def sign_in(self) -> bool:
        """Sign in with Slack on the web board (SPEC §2 "Web board"): the board becomes a working kanban."""
        return self.slack_client_id is not None

    @property
    def slack_authorize_url(self) -> str:
        """Slack's OpenID Connect authorize page, beside its Web API (`…/api/` → `…/openid/connect/authorize`)."""
        return self.slack_api_url.removesuffix("/").removesuffix("/api") + "/openid/connect/authorize"

    @property
    def trackers(self) -> tuple[str, ...]:
        """The issue trackers incidents are mirrored to (SPEC §2 "Issue tracker")."""
        return tuple(name for name, on in (("github", self.github_repo), ("gitlab", self.gitlab_project)) if on)

    @property
    def contact_urls(self) -> dict[str, str]:
        """The kinds of contact method people may add, and their providers' Apprise URLs (secrets: never shown)."""
        urls = (("sms", self.notify_sms_url), ("push", self.notify_push_url), ("email", self.notify_email_url))
        return {kind: url for kind, url in urls if url}

    def escalation_timeout(self, priority: str) -> timedelta:
        """How long a page of this priority waits for an answer before the chain moves on."""
        return self.escalation_timeout_p0 if priority == "P0" else self.escalation_timeout_p1


def load_settings(**overrides: Any) -> Settings:
    """Read and validate settings; raise SettingsError with one line naming the variable."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error.get("loc") else ""
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "missing" or (name and error.get("input") is None):  # unset, empty or blank
            raise SettingsError(f"setting {name} is required") from None
        if name:
            raise SettingsError(f"setting {name}: {message}") from None
        raise SettingsError(f"settings: {message}") from None
    _refuse_placeholders(settings)
    return settings


class _DatabaseSettings(BaseSettings):
    """DATABASE_URL alone, read from the same places as Settings (for `migrate`, `check` and Alembic's env.py,
    which must work before the Slack settings are filled in)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      case_sensitive=False, env_ignore_empty=True)

    database_url: str = Settings.model_fields["database_url"].default


def database_url(default: str | None = None) -> str:
    """DATABASE_URL from the environment, else from `.env`, else `default` (else the bot's own default)."""
    found = _DatabaseSettings()
    if "database_url" in found.model_fields_set or default is None:
        return found.database_url.strip()
    return default


# The values `.env.example` ships with (tests/test_startup.py keeps this in step with the file). Slack can never
# accept them, so with the real Slack API they stop start-up; against another SLACK_API_URL (a fake Slack, a proxy)
# they are only warned about.
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "slack_bot_token": frozenset({"xoxb-your-bot-token"}),
    "slack_signing_secret": frozenset({"your-signing-secret"}),
    "slack_app_token": frozenset({"xapp-..."}),
    "alerts_token": frozenset({"a-long-random-string"}),
}
_REAL_SLACK = "https://slack.com/api/"
_SLACK_SETTINGS = ("slack_bot_token", "slack_signing_secret", "slack_app_token")


def _placeholders(settings: Settings) -> list[str]:
    return [name for name, values in PLACEHOLDERS.items() if getattr(settings, name) in values]


def _placeholder_text(settings: Settings, name: str) -> str:
    return f"setting {name.upper()}: {getattr(settings, name)!r} is the placeholder from .env.example"


def _refuse_placeholders(settings: Settings) -> None:
    if settings.slack_api_url != _REAL_SLACK:
        return
    for name in _placeholders(settings):
        if name in _SLACK_SETTINGS:
            raise SettingsError(f"{_placeholder_text(settings, name)}: put the Slack app's own value here "
                                "(README: Creating the Slack app)")


def setting_warnings(settings: Settings | None, environ: Mapping[str, str] | None = None,
                     env_file: str | os.PathLike[str] | None = ".env") -> list[str]:
    """One line per thing an operator should hear about though start-up goes on: placeholders still in place, and
    variables in the environment or `.env` that look like a misspelt setting."""
    lines = [_placeholder_text(settings, name) + (", not a real value (fine only against a fake Slack)"
                                                  if name in _SLACK_SETTINGS else
                                                  ": anyone who has read it can send alerts; choose a long random one")
             for name in (_placeholders(settings) if settings is not None else [])]
    known = {name.upper() for name in Settings.model_fields}
    # HOST and PORT are too short to guess from: PGHOST, PGPORT (libpq's own) would read as their typos.
    guessable = sorted(name for name in known if len(name) > 4)
    names: dict[str, str] = {}
    if env_file is not None and os.path.isfile(env_file):
        from dotenv import dotenv_values

        names.update((key.upper(), ".env") for key in dotenv_values(env_file))
    names.update((key.upper(), "the environment") for key in (os.environ if environ is None else environ))
    for name, where in sorted(names.items()):
        if name in known:
            continue
        closest = difflib.get_close_matches(name, guessable, n=1, cutoff=0.8)
        if closest:
            lines.append(f"{name} (in {where}) is not a setting; did you mean {closest[0]}?")
    return lines
