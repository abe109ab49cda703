"""Outside text is shown, never resolved (ARCHITECTURE pattern 11, SPEC §5): an alert's or an issue's `<@U…>`,
`<!subteam^…>`, `<#C…>`, `<!date^…>` or link reaches no one — not in the announcement, the summary, the topic, the
timeline, the storm's news, the `timeline` command, nor the analysis draft posted when a P0 resolves — while what
people type in Slack keeps its mentions."""

from __future__ import annotations

import json

from bot.slack.text import escape, safe
from tests.test_alerts import TOKEN, post
from tests.test_paging import with_rotation
from tests.test_tracker_bridge import deliver
from tests.trackers import Side

HOSTILE = ("<@U0LEAD> broke <!subteam^S0ADMINS|@admins> in <#C0SECRET|secret> since "
           "<!date^1700000000^{date}|today> <https://evil.example/login|sign in> & <!here>")
LIVE = ("<@U0LEAD", "<!subteam^", "<#C0SECRET", "<!date^1700000000", "<https://evil.example", "<!here>")


def _markup(value, found: list[str]) -> None:
    """Every string Slack reads as markup; a `plain_text` object is shown as it is (Slack resolves nothing in
    it: https://api.slack.com/reference/block-kit/composition-objects#text), so it is left out."""
    if isinstance(value, dict):
        if value.get("type") == "plain_text":
            return
        for item in value.values():
            _markup(item, found)
    elif isinstance(value, list):
        for item in value:
            _markup(item, found)
    elif isinstance(value, str):
        found.append(value)


def everything_sent(bot, *answers: str) -> list[str]:
    """Every text the bot sent to Slack as markup (messages, updates, topics, DMs, views) and the commands'
    answers."""
    texts: list[str] = []
    _markup([c.args for c in bot.fake.calls], texts)
    _markup([json.loads(answer) if answer.startswith("{") else answer for answer in answers], texts)
    return texts


def assert_nothing_live(texts: list[str]) -> None:
    live = [(token, text) for text in texts for token in LIVE if token in text]
    assert not live, live


def analysis_drafts(bot) -> list[str]:
    return [m["text"] for m in bot.fake.calls_to("chat.postMessage")
            if m.get("text", "").startswith(":page_facing_up: *Incident analysis draft")]


def test_a_persons_mentions_stay_and_escaped_text_is_escaped_once():
    assert safe("ask <@U0B|bob> in <#C0OPS> about a &lt; b & c") == "ask <@U0B|bob> in <#C0OPS> about a &lt; b &amp; c"
    assert safe(escape("<@U0LEAD> broke")) == "&lt;@U0LEAD&gt; broke"
    assert safe("<!here> <!subteam^S1|@x> <!date^1^{date}|d> <https://x.example|y>") == (
        "&lt;!here&gt; &lt;!subteam^S1|@x&gt; &lt;!date^1^{date}|d&gt; &lt;https://x.example|y&gt;")
    assert escape(escape("a < b & c")) == escape("a < b & c") == "a &lt; b &amp; c"


async def test_an_alert_that_names_people_pings_nobody_from_declaration_to_analysis_draft(make_bot):
    bot = await make_bot(alerts_token=TOKEN)
    await with_rotation(bot)
    alert = {"title": HOSTILE, "priority": "P0", "description": HOSTILE, "fingerprint": "hostile",
             "status": "firing", "url": "https://grafana.example.com/d/1"}
    status, body = await post(bot, "/alerts/generic", alert)
    assert status == 202 and body["created"], body
    await bot.settle()
    await deliver(bot)
    assert (await post(bot, "/alerts/generic", alert))[0] == 202  # fires again: on the timeline
    _, timeline, _ = await bot.slack.command("timeline INC-1", user="U0A")
    assert "&lt;@U0LEAD&gt; broke" in timeline
    status, body = await post(bot, "/alerts/generic", {**alert, "status": "resolved"})  # resolves the P0
    assert status == 202, body
    await bot.settle()
    await deliver(bot)
    [draft] = analysis_drafts(bot)
    assert "&lt;@U0LEAD&gt; broke" in draft  # shown, as text
    _, timeline_after, _ = await bot.slack.command("timeline INC-1", user="U0A")
    assert_nothing_live(everything_sent(bot, timeline, timeline_after))


async def test_an_alert_storm_of_such_alerts_pings_nobody(make_bot):
    bot = await make_bot(alerts_token=TOKEN, alert_storm_threshold=1)
    await with_rotation(bot)
    for n in range(3):
        status, body = await post(bot, "/alerts/generic", {"title": f"{HOSTILE} {n}", "priority": "P0",
                                                           "fingerprint": f"hostile-{n}", "status": "firing"})
        assert status == 202, body
        await bot.settle()
        await deliver(bot)
    assert any("&lt;@U0LEAD&gt; broke" in json.dumps(c.args) for c in bot.fake.calls)
    status, body, _ = await bot.slack.command("status INC-2 resolved Calm again", user="U0A")
    assert status == 200 and bot.incidents()[1].status == "resolved", body
    status, body = await post(bot, "/alerts/generic", {"title": f"{HOSTILE} 3", "priority": "P1",
                                                       "fingerprint": "hostile-3", "status": "firing"})
    assert status == 202 and body["storm"], body
    await bot.settle()
    await deliver(bot)
    assert bot.incidents()[1].status != "resolved"  # reopened by the alert that joined
    _, timeline, _ = await bot.slack.command("timeline INC-2", user="U0A")
    assert "joined the storm: &lt;@U0LEAD&gt; broke" in timeline
    assert_nothing_live(everything_sent(bot, timeline))


async def test_an_issue_that_names_people_pings_nobody_from_declaration_to_analysis_draft(tracked, side: Side):
    bot = tracked
    issue = side.fake.add_issue(HOSTILE, ["firefighter", "P0"], body=HOSTILE, author="<@U0LEAD>")
    status, answer = await side.send(bot, side.event("opened", issue, sender="<@U0LEAD>"))
    assert (status, answer["did"]) == (202, "declared")
    await bot.settle()
    await deliver(bot)
    issue["state"] = "closed"
    status, answer = await side.send(bot, side.event("closed", issue, sender="<@U0LEAD>"))
    assert (status, answer["did"]) == (202, "resolved")
    await bot.settle()
    await deliver(bot)
    [draft] = analysis_drafts(bot)
    assert "&lt;@U0LEAD&gt; broke" in draft
    issue["state"] = "open"
    status, answer = await side.send(bot, side.event("reopened", issue, sender="<@U0LEAD>"))
    assert (status, answer["did"]) == (202, "reopened")
    await bot.settle()
    _, timeline, _ = await bot.slack.command("timeline INC-1", user="U0A")
    assert "&lt;@U0LEAD&gt; broke" in timeline
    assert_nothing_live(everything_sent(bot, timeline))


async def test_a_persons_own_mention_in_an_update_still_mentions(bot):
    incident = await bot.declare("Checkout is down", commander="U0COMMANDER")
    status, body, _ = await bot.slack.command("update INC-1 <@U0B|bob> is on it; a &lt; b", user="U0COMMANDER")
    assert status == 200, body
    await bot.settle()
    said = [m["text"] for m in bot.fake.calls_to("chat.postMessage") if m["channel"] == incident.channel_id]
    assert any("<@U0B|bob> is on it; a &lt; b" in text for text in said), said
