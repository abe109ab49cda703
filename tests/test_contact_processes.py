"""Pages beyond Slack from real `python -m bot` processes: killed (SIGKILL) between the provider accepting a page
and the bot recording it, and two replicas on one PostgreSQL sending each page by each method once."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
from collections import Counter

from bot.db.contact_models import PageSend
from bot.db.models import TimelineEvent
from bot.views.incident import declare_modal
from tests.conftest import SECRET
from tests.receivers import MailServer
from tests.slack_requests import SlackSender, view_submission
from tests.test_crash import Process, rows_of, until
from tests.test_replicas import postgres_database, replicas  # noqa: F401  (a fixture)

# A claim lapses this long after its process died (a send beyond Slack is never cut off at half of it, as Slack
# calls are: its thread would go on, and the send would go again).
LEASE = "2s"


async def verified_email(sender: SlackSender, mail: MailServer, user: str, address: str) -> None:
    before = len(mail.mails)
    _, body, _ = await sender.command(f"me contact add email {address}", user=user)
    assert body.startswith("I sent a 6-digit code"), body
    await until(lambda: len(mail.mails) > before, "the code to arrive")
    code = re.search(r"\b(\d{6})\b", mail.mails[-1].body)[1]
    _, body, _ = await sender.command(f"me contact verify {code}", user=user)
    assert "is verified" in body, body


def declaration(n: int, priority: str) -> dict:
    view = declare_modal(metadata=json.dumps({"channel": "C0GENERAL"}), rotations=[(1, "payments")], rotation_id=1)
    return view_submission({**view, "id": f"V0PAGE{n}"}, {"title": f"Checkout {n}", "priority": priority,
                                                         "commander": "U0COMMANDER"}, user="U0REPORTER")


async def test_killed_after_the_provider_accepted_a_page_it_is_sent_again_once_and_recorded(tmp_path, fake_slack):
    """A pager prefers a second copy to none: the send that a dead process could not record is made again by the
    restarted one (once), and from then on it is recorded; nothing else is doubled."""
    mail = MailServer().start()
    for user in ("U0A", "U0B", "U0C"):
        fake_slack.add_user(user)
    fake_slack.add_channel("C0PAY", "payments-oncall", members=("U0A",))
    bot = Process(tmp_path, fake_slack, DELIVERY_LEASE=LEASE, NOTIFY_EMAIL_URL=mail.url())
    await bot.start()
    sender = SlackSender(bot.url, SECRET, fake_slack.response_url())
    try:
        await sender.command("rotation create payments <#C0PAY|payments-oncall>", user="U0A")
        await sender.command("rotation add payments <@U0A> <@U0B> <@U0C>", user="U0A")
        await verified_email(sender, mail, "U0A", "alice@example.com")
        _, body, _ = await sender.command("me rules email 0", user="U0A")
        assert body == "Your rules: email 0.", body

        mail.on_data = lambda: os.kill(bot.process.pid, signal.SIGKILL)  # the mail is taken, then the bot dies
        status, _, _ = await sender.interaction(declaration(1, "P1"))
        assert status == 200
        await until(lambda: bot.process.returncode is not None, "the bot to be killed as the page arrived")
        paged = [m for m in mail.mails if "INC-1" in m.subject]
        assert len(paged) == 1
        sends = rows_of(bot.database_url, PageSend, PageSend.id)
        assert [s.state for s in sends] == ["queued"]  # the provider has it; the bot never heard

        mail.on_data = None
        await sender.close()
        bot = Process(tmp_path, fake_slack, DELIVERY_LEASE=LEASE, NOTIFY_EMAIL_URL=mail.url())
        await bot.start()
        sender = SlackSender(bot.url, SECRET, fake_slack.response_url())
        await until(lambda: [s.state for s in rows_of(bot.database_url, PageSend, PageSend.id)] == ["sent"],
                    "the send to be recorded")
        await asyncio.sleep(2.5)  # ticks go on: nothing more may go out
        assert len([m for m in mail.mails if "INC-1" in m.subject]) == 2  # once more, and only once
        events = [e.text for e in rows_of(bot.database_url, TimelineEvent, TimelineEvent.id)]
        assert events.count("paged <@U0A> by email: sent") == 1, events
    finally:
        await sender.close()
        await bot.stop()
        mail.stop()


async def test_two_replicas_send_each_page_once_by_each_method(tmp_path, fake_slack, postgres_database):  # noqa: F811
    mail = MailServer().start()
    try:
        async with replicas(tmp_path, fake_slack, postgres_database, ESCALATION_TIMEOUT_P0="3s",
                            NOTIFY_EMAIL_URL=mail.url()) as senders:
            await verified_email(senders[0], mail, "U0A", "alice@example.com")
            await verified_email(senders[1], mail, "U0B", "bob@example.com")
            _, body, _ = await senders[1].command("me rules slack 0, email 1s", user="U0A")
            assert body == "Your rules: slack 0, email 1s.", body
            _, body, _ = await senders[0].command("me rules email 0", user="U0B")
            assert body == "Your rules: email 0.", body
            answers = await asyncio.gather(*(senders[n % 2].interaction(declaration(n, "P0")) for n in range(6)))
            assert all(status == 200 for status, _, _ in answers)

            def paged() -> Counter:
                return Counter((m.to[0], re.search(r"INC-\d+", m.subject)[0]) for m in mail.mails
                               if "INC-" in m.subject)

            await until(lambda: len(paged()) == 12, "every page by email", seconds=30)
            await asyncio.sleep(2.5)  # more ticks on both processes: nothing more may go out
            counts = paged()
            assert len(counts) == 12 and set(counts.values()) == {1}, counts
            assert {to for to, _ in counts} == {"alice@example.com", "bob@example.com"}
            dms = Counter(m["channel"] for m in fake_slack.calls_to("chat.postMessage")
                          if "You are paged" in (m.get("text") or ""))
            assert dms["U0A"] == 6 and dms["U0B"] == 0, dms  # U0B's rules name no Slack
        rows = rows_of(postgres_database, PageSend, PageSend.id)
        assert Counter((s.method, s.state) for s in rows) == Counter(
            {("slack", "sent"): 6, ("email", "sent"): 12}), Counter((s.method, s.state) for s in rows)
    finally:
        mail.stop()
