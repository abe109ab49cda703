"""Any text after `/incident` gets a clear answer: random word salad never crashes a listener."""

from __future__ import annotations

import logging
import random

from tests.test_commands import reply_of

WORDS = ["update", "status", "priority", "commander", "responders", "add", "remove", "resolve", "reopen",
         "duplicate", "close", "show", "list", "timeline", "stats", "page", "oncall", "rotation", "create", "order",
         "override", "swap", "as", "primary", "tertiary", "INC-1", "INC-2", "INC-0", "INC-99999999999", "#1", "P0",
         "P3", "blocked", "new", "mine", "all", "<@U0OTHER|o>", "<@U0COMMANDER>", "<@>", "<#C0GENERAL|general>",
         "<!here>", "now", "tomorrow", "2026-13-45", "25:99", "-5", "0", "9999", "`", "*", "&amp;", "é", "🔥",
         "x" * 300, "", "  "]


async def test_word_salad_gets_answers_and_never_an_error(bot, caplog):
    incident = await bot.declare("Checkout is down", commander="U0COMMANDER")
    rng = random.Random(20261122)
    caplog.set_level(logging.ERROR)
    for _ in range(250):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))
        user = rng.choice(["U0COMMANDER", "U0OTHER"])
        channel = rng.choice([incident.channel_id, "C0GENERAL"])
        status, body, _ = await bot.slack.command(text, user=user, channel=channel)
        assert status == 200, text
        answer = reply_of(body) if body else {"text": ""}
        assert answer["text"] or bot.fake.calls_to("views.open"), text
        assert "Traceback" not in answer["text"] and len(answer["text"]) < 4000, text
    await bot.settle()
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures == [], [r.getMessage() for r in failures][:3]
    for event in bot.events(incident):
        assert event.text is not None and len(event.text) <= 4000
