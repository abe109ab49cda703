"""Declaring rules as pure functions: no Slack, no database."""

from __future__ import annotations

import pytest

from bot.domain.incident import (
    Impact,
    Priority,
    Status,
    channel_name,
    clean_title,
    parse_incident_ref,
    suggested_priority,
    validate_declaration,
)
from bot.slack.text import escape, parse_channel_ref, parse_user_ref, slugify


@pytest.mark.parametrize(("number", "title", "attempt", "expected"), [
    (1, "Checkout is down", 1, "inc-1-checkout-is-down"),
    (12, "Checkout is down", 3, "inc-12-checkout-is-down-3"),
    (7, "Café: 500s on /api/v2!!", 1, "inc-7-cafe-500s-on-api-v2"),
    (7, "🔥🔥🔥", 1, "inc-7"),
    (7, "🔥🔥🔥", 2, "inc-7-2"),
    (3, "  --Hello__World--  ", 1, "inc-3-hello-world"),
])
def test_channel_names(number, title, attempt, expected):
    assert channel_name(number, title, attempt) == expected


def test_channel_names_stay_within_slack_limits():
    for title in ["a" * 150, "word " * 30, "x-" * 75]:
        for attempt in (1, 99):
            name = channel_name(123456789, title, attempt)
            assert len(name) <= 80 and name == name.lower() and not name.endswith("-")
            assert set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789-_")


def test_validate_declaration():
    assert validate_declaration("Checkout down", "", "P0") == {}
    assert set(validate_declaration("", "", "P1")) == {"title"}
    assert validate_declaration("x" * 151, "", "P1")["title"].endswith("(it has 151).")
    assert set(validate_declaration("ok", "d" * 3001, "P1")) == {"description"}
    assert set(validate_declaration("ok", "", "P3")) == {"priority"}
    assert set(validate_declaration("ok", "", None)) == {"priority"}


def test_clean_title_makes_one_line():
    assert clean_title("  Checkout\n is\tdown \x07 ") == "Checkout is down"
    assert clean_title(None) == ""


def test_any_impact_suggests_p0():
    assert suggested_priority(frozenset()) is None
    for impact in Impact:
        assert suggested_priority(frozenset({impact})) is Priority.P0


@pytest.mark.parametrize(("token", "number"), [("INC-12", 12), ("inc-3", 3), ("#7", None), ("INC-0", None),
                                               ("12", None), ("INC-", None), ("INC-1x", None), ("INC-²", None)])
def test_parse_incident_ref(token, number):
    assert parse_incident_ref(token) == number


def test_statuses():
    assert {s for s in Status if s.is_open} == {Status.NEW, Status.TRIAGED, Status.IN_PROGRESS, Status.BLOCKED}
    assert Status.IN_PROGRESS.label == "In progress"
    assert not Priority.P2.pages and Priority.P0.pages


def test_slack_references_and_escaping():
    assert parse_user_ref("<@U123ABC|alice>") == "U123ABC" and parse_user_ref("<@W1>") == "W1"
    assert parse_user_ref("@alice") is None
    assert parse_channel_ref("<#C0123|incidents>") == "C0123" and parse_channel_ref("C0123") == "C0123"
    assert parse_channel_ref("#incidents") == "#incidents" and parse_channel_ref("two words") is None
    assert escape("<!here> & <@U1>") == "&lt;!here&gt; &amp; &lt;@U1&gt;"
    assert slugify("Ünïcödé Títle", 40) == "unicode-title"
