"""The rules of reaching people beyond Slack, without Slack or a database (bot/domain/contacts.py) — and how a
provider's URL gets a person's address and a P0's priority (bot/delivery/providers.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.delivery.providers import provider_url
from bot.domain.contacts import (
    CODE_TRIES,
    DEFAULT_RULES,
    Method,
    PendingCode,
    Rule,
    contact_code,
    match_code,
    page_sends,
    parse_address,
    parse_delay,
    parse_rules,
    rules_text,
)
from bot.domain.errors import UserError

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
ALL = ("sms", "push", "email")


@pytest.mark.parametrize(("kind", "raw", "stored"), [
    (Method.SMS, "+49 151 23456789", "+4915123456789"),
    (Method.SMS, "+1 (650) 253-0000", "+16502530000"),
    (Method.EMAIL, "bob+pager@example.com", "bob+pager@example.com"),
    (Method.EMAIL, "<mailto:bob@example.com|bob@example.com>", "bob@example.com"),  # as Slack links it
    (Method.PUSH, "alice-pager", "alice-pager"),
])
def test_addresses_are_stored_in_one_form(kind, raw, stored):
    assert parse_address(kind, raw) == stored


@pytest.mark.parametrize(("kind", "raw"), [
    (Method.SMS, "015123456789"),  # no country code
    (Method.SMS, "+1 555 0100"),  # not a number anyone has
    (Method.SMS, "call me"),
    (Method.SMS, "+49 900 1234567"), (Method.SMS, "+44 901 234 5678"), (Method.SMS, "+1 900 234 5678"),  # premium
    (Method.SMS, "+49 30 123456"),  # a landline: no text reaches it
    (Method.EMAIL, "bob@"), (Method.EMAIL, "bob@example"), (Method.EMAIL, "a b@example.com"),
    (Method.PUSH, "topic/../../admin"), (Method.PUSH, "topic?priority=1"), (Method.PUSH, ""),
])
def test_bad_addresses_are_refused(kind, raw):
    with pytest.raises(UserError):
        parse_address(kind, raw)


def test_rules_are_parsed_in_the_order_they_fire_and_each_method_once():
    rules = parse_rules("email 10m, slack 0, sms 2", ALL)
    assert rules == (Rule(Method.SLACK, timedelta(0)), Rule(Method.SMS, timedelta(minutes=2)),
                     Rule(Method.EMAIL, timedelta(minutes=10)))
    assert rules_text(rules) == "slack 0, sms 2m, email 10m"
    assert parse_delay("90s") == timedelta(seconds=90) and parse_delay("1h") == timedelta(hours=1)
    for bad in ("sms", "sms 2m, sms 3m", "pager 0", "sms soon", "sms 25h", ""):
        with pytest.raises(UserError):
            parse_rules(bad, ALL)
    with pytest.raises(UserError, match="the kinds that are: email"):
        parse_rules("sms 0", ("email",))


def test_a_page_goes_by_each_verified_method_at_its_delay_and_by_slack_when_nothing_else_can():
    rules = parse_rules("slack 0, sms 2m, email 10m", ALL)
    assert page_sends(rules, {Method.SMS}, NOW) == [(Method.SLACK, NOW), (Method.SMS, NOW + timedelta(minutes=2))]
    assert page_sends(parse_rules("sms 0", ALL), set(), NOW) == [(Method.SLACK, NOW)]  # unverified: pages nobody
    assert page_sends(DEFAULT_RULES, {Method.SMS}, NOW) == [(Method.SLACK, NOW)]


def test_codes_match_only_their_address_while_live_and_within_their_tries():
    secret, nonce = "web-secret", "00ff00ff00ff00ff"
    code = contact_code(secret, "U1", "sms", "+4915123456789", nonce)
    assert len(code) == 6 and code.isdigit()
    live = PendingCode("sms", "+4915123456789", nonce, NOW + timedelta(minutes=15), 0)
    assert match_code(secret, "U1", f" {code[:3]} {code[3:]} ", [live], NOW) == "sms"
    assert match_code(secret, "U2", code, [live], NOW) is None  # someone else's
    assert match_code("other-secret", "U1", code, [live], NOW) is None
    assert match_code(secret, "U1", code, [live], NOW + timedelta(minutes=15)) is None  # expired
    spent = PendingCode("sms", "+4915123456789", nonce, live.expires_at, CODE_TRIES)
    assert match_code(secret, "U1", code, [spent], NOW) is None
    moved = PendingCode("sms", "+4915123456780", nonce, live.expires_at, 0)  # the address was replaced
    assert match_code(secret, "U1", code, [moved], NOW) is None


@given(st.text(min_size=1, max_size=60))
def test_an_address_never_adds_parameters_hosts_or_paths_to_the_providers_url(address):
    template = "ntfys://user:pass@ntfy.example.com/{to}?priority=low"
    url = provider_url(template, address, urgent=False)
    parts = urlsplit(url)
    assert parts.netloc == "user:pass@ntfy.example.com" and parts.path.count("/") == 1
    assert dict(parse_qsl(parts.query)) == {"priority": "low"}
    mail = urlsplit(provider_url("mailtos://u:p@smtp.example.com?from=ff@example.com&to={to}", address, False))
    assert mail.netloc == "u:p@smtp.example.com" and [k for k, _ in parse_qsl(mail.query)] == ["from", "to"]


def test_a_p0_asks_for_the_providers_highest_priority_where_it_has_one():
    assert dict(parse_qsl(urlsplit(provider_url("ntfy://h/{to}?priority=low", "t", True)).query)) == \
        {"priority": "max"}
    assert "priority=emergency" in provider_url("pover://{to}@apptoken", "userkey", True)
    assert provider_url("json://h/{to}", "t", True) == "json://h/t"  # no priority to raise
