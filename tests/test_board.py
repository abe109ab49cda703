"""The read-only web pages and calendar feeds over HTTP: signed links, escaping, the viewer's timezone, iCal."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime

from icalendar import Calendar

from bot.http.tokens import page_token, person_feed_token, rotation_feed_token, sign
from tests.test_commands import reply_of
from tests.test_paging import with_rotation


async def get(bot, path: str) -> tuple[int, str, str]:
    async with bot.slack.session.get(f"{bot.url}{path}") as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


def shown(html: str) -> str:
    """What a page shows: its text, without tags (an id may sit in a hover title or a picture's address)."""
    return re.sub(r"<[^>]*>", " ", html)


def token(bot) -> str:
    return page_token(bot.runtime.settings.web_secret, bot.clock.now())


async def test_pages_need_a_valid_unexpired_link(bot):
    await bot.declare("Checkout is down")
    for path in ("/board", "/incidents/1", "/rotations/payments"):
        for suffix in ("", "?token=", "?token=forged.token", f"?token={token(bot)[:-3]}xyz"):
            status, _, body = await get(bot, path + suffix)
            assert status == 403 and "Checkout" not in body, (path, suffix)
    link = token(bot)
    assert (await get(bot, f"/board?token={link}"))[0] == 200
    bot.clock.advance(hours=12, seconds=1)
    status, _, body = await get(bot, f"/board?token={link}")
    assert status == 403 and "expired" in body


async def test_incident_board_command_gives_a_working_link(bot):
    await bot.declare("Checkout is down", priority="P0")
    _, body, _ = await bot.slack.command("board")
    link = re.search(r"<(http[^|>]+)\|Open the incident board>", reply_of(body)["text"]).group(1)
    assert link.startswith("http://localhost:3000/board?token=")
    status, content_type, html = await get(bot, link.removeprefix("http://localhost:3000"))
    assert status == 200 and content_type.startswith("text/html") and "INC-1" in html


async def test_board_columns_cards_filters_and_escaping(bot):
    await with_rotation(bot)
    await bot.declare("<script>alert(1)</script> checkout", priority="P0", commander="U0COMMANDER")
    second = await bot.declare("Search is slow", priority="P1", commander="U0COMMANDER")
    third = await bot.declare("Docs typo", priority="P2", commander="U0COMMANDER")
    await bot.slack.command("status INC-2 in_progress", user="U0COMMANDER", channel=second.channel_id)
    await bot.slack.command("status resolved fixed", user="U0COMMANDER", channel=third.channel_id)
    await bot.settle()
    bot.clock.advance(minutes=61)  # INC-1 has gone an hour without an update
    status, _, html = await get(bot, f"/board?token={token(bot)}")
    assert status == 200
    for title in ("New", "Triaged", "In progress", "Blocked", "Resolved (last 7 days)"):
        assert f"<span>{title}</span>" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    new_column = html.split('data-column="new"')[1].split("</section>")[0]
    # where each card stands against its targets, by the reminders' own rules
    assert 'data-incident="INC-1"' in new_column and '<div class="target late"' in new_column
    assert "update late by 1m" in new_column and "triage missed by 31m" in new_column
    in_progress = html.split('data-column="in_progress"')[1].split("</section>")[0]
    assert 'data-incident="INC-2"' in in_progress and "P1 target due in 22h 59m" in in_progress  # Thu 12:00
    assert '<div class="target missed"' not in in_progress
    _, _, missing = await get(bot, f"/board?token={token(bot)}&missing=1")
    assert 'data-incident="INC-1"' in missing and 'data-incident="INC-2"' not in missing
    assert 'data-incident="INC-3"' in html.split('data-column="resolved"')[1].split("</section>")[0]
    _, _, filtered = await get(bot, f"/board?token={token(bot)}&priority=P1")
    assert 'data-incident="INC-2"' in filtered and 'data-incident="INC-1"' not in filtered
    _, _, nothing = await get(bot, f"/board?token={token(bot)}&rotation=nope")
    assert "data-incident=" not in nothing
    bot.clock.advance(days=8)
    _, _, later = await get(bot, f"/board?token={token(bot)}")
    assert 'data-incident="INC-3"' not in later  # resolved more than 7 days ago


async def test_people_appear_by_name_and_stored_slack_text_as_text(bot):
    bot.fake.add_user("U0COMMANDER", name="Cora Chen")
    bot.fake.add_user("U0REPORTER", name="Ravi")
    incident = await bot.declare("Cart <empty> & slow", priority="P1", commander="U0COMMANDER")
    await bot.slack.command("responders add <@U0OTHER|other>", user="U0COMMANDER", channel=incident.channel_id)
    await bot.slack.command("update rolled back, see <https://grafana.example/d/1?a=1&amp;b=2|the dashboard> "
                            "and ask <@U0REPORTER|ravi> &lt;here&gt;", user="U0COMMANDER",
                            channel=incident.channel_id)
    await bot.settle()
    await bot.tick()  # the tick learns people's names (users.info)
    _, _, board = await get(bot, f"/board?token={token(bot)}")
    assert "Cora Chen" in board and "@U0COMMANDER" not in board
    assert 'src="https://avatars.slack-edge.example/U0COMMANDER_72.png"' in board
    _, _, page = await get(bot, f"/incidents/{incident.number}?token={token(bot)}")
    assert "&lt;@" not in page and "<@" not in page and "&amp;lt;" not in page
    assert '<span class="mention">@Cora Chen</span> is commander' in page
    assert ('<a href="https://grafana.example/d/1?a=1&amp;b=2" rel="noopener noreferrer">the dashboard</a>'
            in page)
    assert '<span class="mention">@Ravi</span> &lt;here&gt;' in page
    assert "Cart &lt;empty&gt; &amp; slow" in page and "reported by" in page
    assert '<span class="target ok"' in page and "P1 target due in" in page  # its targets, as on its card


async def test_the_first_look_names_people_and_a_slow_slack_leaves_a_neutral_label_never_an_id(bot):
    """SPEC: never raw ids. A page asks Slack about the people it shows before answering (no tick in between)…"""
    bot.fake.add_user("U0COMMANDER", name="Cora Chen")
    bot.fake.add_user("U0REPORTER", name="Ravi")
    incident = await bot.declare("Checkout is down", priority="P1", commander="U0COMMANDER", user="U0REPORTER")
    await bot.slack.command("update paged <@U0SLOW> too", user="U0COMMANDER", channel=incident.channel_id)
    await bot.settle()
    asked = len(bot.fake.calls_to("users.info"))
    _, _, board = await get(bot, f"/board?token={token(bot)}")
    assert "Cora Chen" in shown(board) and "U0COMMANDER" not in shown(board)
    _, _, page = await get(bot, f"/incidents/{incident.number}?token={token(bot)}")
    assert "Cora Chen" in shown(page) and "Ravi" in shown(page) and "U0" not in shown(page)
    assert len(bot.fake.calls_to("users.info")) - asked == 3  # each once: Cora, Ravi, and U0SLOW (not found)
    # …within a budget: Slack slower than that leaves "a teammate" (asked again at the next look), never the id
    bot.fake.add_user("U0LATE", name="Lee")
    bot.fake.slow(5, "users.info")
    await bot.slack.command("commander <@U0LATE>", user="U0COMMANDER", channel=incident.channel_id)
    await bot.settle()
    started = time.monotonic()
    status, _, board = await get(bot, f"/board?token={token(bot)}")
    assert status == 200 and time.monotonic() - started < 3
    assert "a teammate" in shown(board) and "U0LATE" not in board and "Lee" not in board
    _, _, page = await get(bot, f"/incidents/{incident.number}?token={token(bot)}")
    assert "a teammate" in shown(page) and "U0" not in shown(page), "a raw id is shown"
    bot.fake.slow(0, "users.info")
    _, _, board = await get(bot, f"/board?token={token(bot)}")
    assert "Lee" in board


async def test_incident_page_shows_the_timeline_in_the_viewers_timezone_and_the_draft(bot):
    incident = await bot.declare("Login <b>down</b>", priority="P0", commander="U0COMMANDER")
    await bot.slack.command("status resolved Rolled back", user="U0COMMANDER", channel=incident.channel_id)
    await bot.settle()
    status, _, html = await get(bot, f"/incidents/1?token={token(bot)}&tz=Asia/Tokyo")
    assert status == 200 and "Login &lt;b&gt;down&lt;/b&gt;" in html
    assert "Tue 2026-11-24 18:00 JST" in html  # 09:00 UTC
    assert "Incident analysis draft" in html and "## Timeline" in html
    assert (await get(bot, f"/incidents/99?token={token(bot)}"))[0] == 404
    assert (await get(bot, f"/incidents/x1?token={token(bot)}"))[0] == 404


async def test_rotation_page_and_calendar_feeds_across_a_dst_change(make_bot):
    bot = await make_bot(team_timezone="America/New_York")
    await with_rotation(bot, at=datetime(2026, 10, 21, 16, 0, tzinfo=UTC))  # a Wednesday in October
    await bot.slack.command("rotation override <@U0C> 2026-10-24 2026-10-25", user="U0A", channel="C0PAY")
    await bot.settle()
    for user, name in (("U0A", "Ana"), ("U0B", "Bo"), ("U0C", "Cy")):
        bot.fake.add_user(user, tz="America/New_York", name=name)
    await bot.runtime.services.people.refresh(["U0A", "U0B", "U0C"])
    status, _, html = await get(bot, f"/rotations/payments?token={token(bot)}&tz=America/New_York")
    assert status == 200 and html.count("data-shift=") == 9
    assert "Tue 2026-10-27 10:00 EDT" in html and "Tue 2026-11-03 10:00 EST" in html
    assert "Cy</span> is primary from" in html and "@U0" not in html

    rotation = bot.runtime.services.rotations.named_rotation("payments")
    feed = rotation_feed_token(bot.runtime.settings.web_secret, "payments", rotation.feed_version)
    status, content_type, body = await get(bot, f"/rotations/payments.ics?token={feed}")
    assert status == 200 and content_type.startswith("text/calendar")
    events = [e for e in Calendar.from_ical(body).walk("VEVENT")]
    primaries = sorted((e.decoded("dtstart"), str(e["summary"])) for e in events if " primary:" in str(e["summary"]))
    starts = [start.astimezone(UTC) for start, _ in primaries[:3]]
    assert starts[1] == datetime(2026, 10, 27, 14, 0, tzinfo=UTC)  # 10:00 EDT
    assert starts[2] == datetime(2026, 11, 3, 15, 0, tzinfo=UTC)  # 10:00 EST: the handoff stays at 10:00 local
    assert primaries[0][1] == "payments primary: Ana" and primaries[1][1] == "payments primary: Bo"
    assert any("(override)" in str(e["summary"]) for e in events)

    mine = person_feed_token(bot.runtime.settings.web_secret, "U0B", 0)
    status, _, body = await get(bot, f"/people/U0B.ics?token={mine}")
    summaries = {str(e["summary"]) for e in Calendar.from_ical(body).walk("VEVENT")}
    assert status == 200 and summaries and all("Bo" in s for s in summaries)
    assert (await get(bot, f"/people/U0A.ics?token={mine}"))[0] == 403  # a link is for one person

    _, body, _ = await bot.slack.command("rotation feed-reset", user="U0A", channel="C0PAY")
    assert "stops working" in reply_of(body)["text"]
    assert (await get(bot, f"/rotations/payments.ics?token={feed}"))[0] == 403
    _, body, _ = await bot.slack.command("oncall payments", user="U0A")
    links = re.findall(r"<(http[^|>]+)\|", str(reply_of(body)["blocks"]))
    fresh = next(link for link in links if ".ics" in link and "/rotations/" in link)
    assert (await get(bot, fresh.removeprefix("http://localhost:3000")))[0] == 200
    page = next(link for link in links if "/rotations/payments?token=" in link)
    assert (await get(bot, page.removeprefix("http://localhost:3000")))[0] == 200

    secret = bot.runtime.settings.web_secret  # a person's own links: `me feed-reset` revokes them (issue 32 item 9)
    before_versions = sign(secret, {"k": "ics", "p": "U0B"})  # a link handed out before links carried a version
    assert (await get(bot, f"/people/U0B.ics?token={before_versions}"))[0] == 200
    _, body, _ = await bot.slack.command("me feed-reset", user="U0B")
    answer = reply_of(body)["text"]
    assert "stops working" in answer
    for revoked in (mine, before_versions):
        assert (await get(bot, f"/people/U0B.ics?token={revoked}"))[0] == 403
    fresh = re.search(r"<(http[^|>]+/people/U0B\.ics[^|>]+)\|", answer).group(1)
    assert (await get(bot, fresh.removeprefix("http://localhost:3000")))[0] == 200
    _, body, _ = await bot.slack.command("oncall payments", user="U0B")
    offered = next(link for link in re.findall(r"<(http[^|>]+)\|", str(reply_of(body)["blocks"])) if "/people/" in link)
    assert offered == fresh, "oncall offers the link of the current version"
    assert (await get(bot, f"/people/U0A.ics?token={person_feed_token(secret, 'U0A', 0)}"))[0] == 200, "only U0B's"
    _, body, _ = await bot.slack.command("me feed", user="U0B")
    assert "me feed-reset" in reply_of(body)["text"]


async def test_a_malformed_incident_path_is_404_never_500(bot):
    await bot.declare("Checkout is down")
    link = token(bot)
    for number in ("99999999999999999999", "2147483648", "0", "-1", "1.0", "%C2%B2", "%00", "1e3", "INC-1"):
        status, _, _ = await get(bot, f"/incidents/{number}?token={link}")
        assert status == 404, number
    assert (await get(bot, f"/incidents/1?token={link}"))[0] == 200


async def test_stats_page_draws_the_last_weeks_with_a_table_beside_each_chart(bot):
    await with_rotation(bot)
    first = await bot.declare("Checkout is down", priority="P0", commander="U0COMMANDER")
    await bot.declare("Search is slow", priority="P1", commander="U0COMMANDER")
    await bot.slack.command("status in_progress", user="U0COMMANDER", channel=first.channel_id)
    await bot.slack.command("status resolved rolled back", user="U0COMMANDER", channel=first.channel_id)
    await bot.settle()
    status, _, html = await get(bot, f"/stats?token={token(bot)}&weeks=4")
    assert status == 200 and html.count("<svg") == 5 and html.count("<table") == 5
    assert "<script" not in html
    assert (await get(bot, "/stats"))[0] == 403
    _, body, _ = await bot.slack.command("stats", user="U0OTHER")
    assert "/stats?token=" in json.dumps(json.loads(body)["blocks"])  # `/incident stats` links the charts
