"""Settings (SPEC §3): defaults, accepted forms, and one clear line for every bad value."""

from __future__ import annotations

import re
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import PLACEHOLDERS, SettingsError, database_url, load_settings, parse_duration, setting_warnings

REQUIRED = {"slack_bot_token": "xoxb-1", "slack_signing_secret": "s"}


def settings(**values):
    return load_settings(_env_file=None, **{**REQUIRED, **values})


def test_defaults_follow_the_spec():
    s = settings()
    assert s.slack_api_url == "https://slack.com/api/" and s.database_url == "sqlite:///firefighter.db"
    assert (s.host, s.port, s.create_incident_channels) == ("0.0.0.0", 3000, True)
    assert s.team_timezone == ZoneInfo("UTC") and s.working_hours == (time(9), time(17))
    assert s.working_days == frozenset(range(5)) and (s.handoff_weekday, s.handoff_time) == (1, time(10))
    assert (s.p0_update_interval, s.p0_renag_interval) == (timedelta(minutes=60), timedelta(minutes=30))
    assert (s.p1_resolution_target, s.triage_target) == (timedelta(hours=8), timedelta(hours=4))
    assert (s.escalation_timeout_p0, s.escalation_timeout_p1) == (timedelta(minutes=5), timedelta(minutes=30))
    assert s.scheduler_tick == timedelta(seconds=30) and s.alerts_auto_resolve is True
    assert s.admins == () and s.public_url == "http://localhost:3000" and s.log_level == "INFO"
    assert s.web_secret and s.web_secret != "s" and not s.socket_mode


@pytest.mark.parametrize(("text", "expected"), [
    ("90s", timedelta(seconds=90)), ("15m", timedelta(minutes=15)), ("1h", timedelta(hours=1)),
    ("45", timedelta(seconds=45)), ("PT1H", timedelta(hours=1)), ("PT1H30M", timedelta(minutes=90)),
    ("P1D", timedelta(days=1)), ("2d", timedelta(days=2)), (" 1H ", timedelta(hours=1)),
])
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5x", "P", "PT", "-5m", "0", "1 hour", "h"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_environment_is_read(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-env")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    monkeypatch.setenv("P0_UPDATE_INTERVAL", "PT45M")
    monkeypatch.setenv("ADMINS", "U1ABC, W2DEF")
    monkeypatch.setenv("WORKING_DAYS", "sun-thu")
    monkeypatch.setenv("HANDOFF_WEEKDAY", "Wed")
    monkeypatch.setenv("INCIDENTS_CHANNEL", "<#C0123|incidents>")
    monkeypatch.setenv("CREATE_INCIDENT_CHANNELS", "false")
    s = load_settings(_env_file=None)
    assert s.slack_bot_token == "xoxb-env" and s.p0_update_interval == timedelta(minutes=45)
    assert s.admins == ("U1ABC", "W2DEF") and s.working_days == frozenset({6, 0, 1, 2, 3})
    assert s.handoff_weekday == 2 and s.incidents_channel == "C0123" and s.create_incident_channels is False


def test_dotenv_file_is_read(tmp_path):
    env = tmp_path / ".env"
    env.write_text("SLACK_BOT_TOKEN=xoxb-file\nSLACK_SIGNING_SECRET=s\nTEAM_TIMEZONE=Europe/Berlin\n")
    s = load_settings(_env_file=env)
    assert s.slack_bot_token == "xoxb-file" and s.team_timezone == ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(("values", "message"), [
    ({"escalation_timeout_p0": "5x"}, "setting ESCALATION_TIMEOUT_P0: '5x' is not a duration"),
    ({"team_timezone": "Mars/Olympus"}, "setting TEAM_TIMEZONE: 'Mars/Olympus' is not an IANA time zone"),
    ({"working_hours": "17:00-09:00"}, "setting WORKING_HOURS: '17:00-09:00': the end must come after the start"),
    ({"working_hours": "nine-five"}, "setting WORKING_HOURS:"),
    ({"working_days": "funday"}, "setting WORKING_DAYS: 'funday' is not a weekday"),
    ({"handoff_time": "25:00"}, "setting HANDOFF_TIME: '25:00' is not a time of day"),
    ({"port": "http"}, "setting PORT:"),
    ({"port": "70000"}, "setting PORT:"),
    ({"admins": "U1,bob"}, "setting ADMINS: 'bob' is not a Slack user id"),
    ({"incidents_channel": "not a channel!"}, "setting INCIDENTS_CHANNEL:"),
    ({"log_level": "loud"}, "setting LOG_LEVEL: 'loud' is not a log level"),
    ({"slack_api_url": "ftp://x"}, "setting SLACK_API_URL: 'ftp://x' is not an http(s) URL"),
    ({"create_incident_channels": "maybe"}, "setting CREATE_INCIDENT_CHANNELS:"),
])
def test_bad_values_stop_with_one_line_naming_the_variable(values, message):
    with pytest.raises(SettingsError) as caught:
        settings(**values)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_missing_token_and_mode_requirements():
    with pytest.raises(SettingsError, match=r"^setting SLACK_BOT_TOKEN is required$"):
        load_settings(_env_file=None, slack_signing_secret="s")
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET is required in HTTP mode"):
        load_settings(_env_file=None, slack_bot_token="xoxb-1")
    s = load_settings(_env_file=None, slack_bot_token="xoxb-1", slack_app_token="xapp-1")
    assert s.socket_mode


def test_public_url_follows_the_port_and_web_secret_follows_the_signing_secret():
    assert settings(port=8080).public_url == "http://localhost:8080"
    assert settings(public_url="https://ff.example.com/").public_url == "https://ff.example.com"
    assert settings().web_secret != settings(slack_signing_secret="other").web_secret
    assert settings(web_secret="explicit").web_secret == "explicit"


@pytest.mark.parametrize("blank", ["", "   "])
def test_an_empty_required_setting_reads_as_required(monkeypatch, tmp_path, blank):
    monkeypatch.setenv("SLACK_BOT_TOKEN", blank)
    with pytest.raises(SettingsError, match=r"^setting SLACK_BOT_TOKEN is required$"):
        load_settings(_env_file=None, slack_signing_secret="s")
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    env = tmp_path / ".env"
    env.write_text(f"SLACK_BOT_TOKEN={blank}\nSLACK_SIGNING_SECRET=s\n")
    with pytest.raises(SettingsError, match=r"^setting SLACK_BOT_TOKEN is required$"):
        load_settings(_env_file=env)
    env.write_text(f"SLACK_BOT_TOKEN=xoxb-1\nSLACK_SIGNING_SECRET={blank}\n")
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET is required in HTTP mode"):
        load_settings(_env_file=env)


def test_an_empty_optional_setting_keeps_its_default(monkeypatch):
    monkeypatch.setenv("PORT", "")
    monkeypatch.setenv("SCHEDULER_TICK", "")
    s = settings()
    assert s.port == 3000 and s.scheduler_tick == timedelta(seconds=30)


def _env_example() -> dict[str, str]:
    """Every NAME=value of .env.example, commented out or not (inline comments dropped)."""
    values = {}
    for line in (Path(__file__).resolve().parents[1] / ".env.example").read_text().splitlines():
        text = line.lstrip("# ").split("  #")[0].strip()
        name, sep, value = text.partition("=")
        if sep and re.fullmatch(r"[A-Z0-9_]+", name):
            values[name] = value
    return values


def test_every_secret_in_env_example_is_known_as_a_placeholder():
    example = _env_example()
    secrets = {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "ALERTS_TOKEN"}
    assert secrets <= set(example)
    for name in secrets:
        assert example[name] in PLACEHOLDERS[name.lower()], name


def test_placeholders_stop_start_up_against_slack_and_are_warned_about_elsewhere():
    example = _env_example()
    with pytest.raises(SettingsError) as caught:
        settings(slack_bot_token=example["SLACK_BOT_TOKEN"])
    assert str(caught.value).startswith("setting SLACK_BOT_TOKEN: 'xoxb-your-bot-token' is the placeholder")
    with pytest.raises(SettingsError, match=r"^setting SLACK_SIGNING_SECRET: 'your-signing-secret' is the placeholder"):
        settings(slack_signing_secret=example["SLACK_SIGNING_SECRET"])
    faked = settings(slack_bot_token=example["SLACK_BOT_TOKEN"], slack_api_url="http://127.0.0.1:3001/api/",
                     alerts_token=example["ALERTS_TOKEN"])
    warnings = setting_warnings(faked, environ={}, env_file=None)
    assert len(warnings) == 2
    assert warnings[0].startswith("setting SLACK_BOT_TOKEN: 'xoxb-your-bot-token' is the placeholder from .env.example")
    assert warnings[1].startswith("setting ALERTS_TOKEN: 'a-long-random-string' is the placeholder")
    assert setting_warnings(settings(), environ={}, env_file=None) == []


def test_misspelt_settings_are_named_with_the_closest_one(tmp_path):
    env = tmp_path / ".env"
    env.write_text("P0_UPDATE_INTERVALL=10m\nSLACK_BOT_TOKEN=xoxb-1\nMY_OWN_THING=1\n")
    environ = {"SLACK_SIGNING_SECRT": "x", "slack_bot_tokn": "y", "DATABASE_URL": "sqlite://", "PATH": "/bin",
               "HOSTNAME": "box", "PGHOST": "db", "PGPORT": "5432", "HOME": "/root", "FIREFIGHTER_CLOCK_FILE": "/x"}
    assert setting_warnings(None, environ=environ, env_file=env) == [
        "P0_UPDATE_INTERVALL (in .env) is not a setting; did you mean P0_UPDATE_INTERVAL?",
        "SLACK_BOT_TOKN (in the environment) is not a setting; did you mean SLACK_BOT_TOKEN?",
        "SLACK_SIGNING_SECRT (in the environment) is not a setting; did you mean SLACK_SIGNING_SECRET?",
    ]


def test_database_url_alone_comes_from_the_environment_then_dotenv(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert database_url() == "sqlite:///firefighter.db"
    assert database_url(default="sqlite:///ini.db") == "sqlite:///ini.db"
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:///from-dotenv.db\n")
    assert database_url(default="sqlite:///ini.db") == "sqlite:///from-dotenv.db"
    monkeypatch.setenv("DATABASE_URL", "sqlite:///from-env.db")
    assert database_url() == "sqlite:///from-env.db"
