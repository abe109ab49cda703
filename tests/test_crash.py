"""SIGKILL in the middle of declaring and of delivering: a restarted process finishes the work, loses nothing and
doubles nothing. Real `python -m bot` processes against the fake Slack, sharing one SQLite file."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, create_engine, select

from bot.db.models import Delivery, Incident, Page
from bot.views.incident import declare_modal
from tests.conftest import SECRET, TOKEN
from tests.slack_requests import SlackSender, view_submission
from tests.test_process import bot_env, free_port, wait_healthy


class Process:
    def __init__(self, tmp_path: Path, fake_slack, database_url: str | None = None, **env: str) -> None:
        self.tmp_path, self.fake = tmp_path, fake_slack
        self.database_url = database_url or f"sqlite:///{tmp_path / 'ff.db'}"
        self.env = env or {"DELIVERY_LEASE": "2s"}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = bot_env(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=self.fake.api_url,
                      DATABASE_URL=self.database_url, HOST="127.0.0.1", PORT=str(self.port),
                      INCIDENTS_CHANNEL="C0INCIDENTS", SCHEDULER_TICK="1s", **self.env)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=self.tmp_path, env=env, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        await wait_healthy(self.url, self.process)

    async def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


def stored(tmp_path: Path, model) -> list:
    """What the database holds, read the way an operator would: from outside the bot."""
    engine = create_engine(f"sqlite:///{tmp_path / 'ff.db'}")
    with Session(engine) as session:
        rows = list(session.exec(select(model)))
    engine.dispose()
    return rows


def incidents(tmp_path: Path) -> list[Incident]:
    return stored(tmp_path, Incident)


def outbox(tmp_path: Path) -> list[Delivery]:
    return stored(tmp_path, Delivery)


async def until(condition, what: str, seconds: float = 20) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_killed_while_declaring_and_while_delivering(tmp_path, fake_slack):
    bot = Process(tmp_path, fake_slack)
    await bot.start()
    sender = SlackSender(bot.url, SECRET, fake_slack.response_url())
    try:
        # 1. Killed in the middle of the channel set-up (the pin hangs).
        fake_slack.slow(4, "pins.add")
        view = declare_modal(metadata=json.dumps({"channel": "C0GENERAL"}), rotations=[])
        payload = view_submission({**view, "id": "V0CRASH"}, {"title": "Checkout is down", "priority": "P1",
                                                              "commander": "U0COMMANDER"}, user="U0REPORTER")
        status, body, _ = await sender.interaction(payload)
        assert status == 200 and body == ""
        await until(lambda: any(c.method == "pins.add" for c in fake_slack.calls), "the pin to start")
        await bot.kill()
        assert len(incidents(tmp_path)) == 1 and "pin" not in incidents(tmp_path)[0].steps_done
        fake_slack.slow(0, "pins.add")
        await sender.close()

        bot = Process(tmp_path, fake_slack)
        await bot.start()
        sender = SlackSender(bot.url, SECRET, fake_slack.response_url())
        await until(lambda: "done" in incidents(tmp_path)[0].steps_done, "the set-up to finish")
        incident = incidents(tmp_path)[0]
        assert len(incidents(tmp_path)) == 1
        assert [c.method for c in fake_slack.calls].count("conversations.create") == 1
        assert len(fake_slack.pins) == 1
        summaries = [m for (c, _), m in fake_slack.messages.items() if c == incident.channel_id and m["blocks"]]
        assert len(summaries) == 1
        announcements = [m for (c, _), m in fake_slack.messages.items() if c == "C0INCIDENTS"]
        assert len(announcements) == 1

        # 2. Killed while an update is on its way to Slack.
        fake_slack.slow(4, "chat.postMessage")
        status, body, _ = await sender.command("update Rolled back", user="U0COMMANDER", channel=incident.channel_id)
        assert status == 200 and body == "Posted your update to INC-1."
        await until(lambda: any(c.method == "chat.postMessage" for c in fake_slack.calls[-3:]), "the post to start")
        await bot.kill()
        fake_slack.slow(0, "chat.postMessage")
        await sender.close()

        bot = Process(tmp_path, fake_slack)
        await bot.start()
        sender = SlackSender(bot.url, SECRET, fake_slack.response_url())
        await until(lambda: all(m.state == "sent" for m in outbox(tmp_path)), "the outbox to drain")
        updates = [m for (c, _), m in fake_slack.messages.items()
                   if c == incident.channel_id and (m["text"] or "").startswith(":memo:")]
        assert [m["text"] for m in updates] == [":memo: *Update on INC-1* from <@U0COMMANDER>:\nRolled back"]
    finally:
        await sender.close()
        await bot.stop()


async def test_killed_after_slack_acted_but_before_it_was_recorded(tmp_path, fake_slack):
    """kill -9 while Slack's answer is on its way: the channel Slack created is adopted (no `inc-1-…-2`), and the
    summary Slack posted is found by its metadata (no second summary with buttons)."""
    bot = Process(tmp_path, fake_slack)
    await bot.start()
    sender = SlackSender(bot.url, SECRET, fake_slack.response_url())
    try:
        # 1. Killed while conversations.create's answer is on its way (Slack has made the channel).
        fake_slack.answer_late(30, "conversations.create")
        view = declare_modal(metadata=json.dumps({"channel": "C0GENERAL"}), rotations=[])
        payload = view_submission({**view, "id": "V0LATE"}, {"title": "Checkout is down", "priority": "P1",
                                                             "commander": "U0COMMANDER"}, user="U0REPORTER")
        status, body, _ = await sender.interaction(payload)
        assert status == 200 and body == ""
        await until(lambda: fake_slack.calls_to("conversations.create"), "the channel to be created")
        await bot.kill()
        assert "home" not in incidents(tmp_path)[0].steps_done

        # 2. Restarted: the channel is adopted; killed again while the summary's answer is on its way.
        fake_slack.answer_late(0, "conversations.create")
        fake_slack.answer_late(30, "chat.postMessage")
        await sender.close()
        bot = Process(tmp_path, fake_slack)
        await bot.start()
        sender = SlackSender(bot.url, SECRET, fake_slack.response_url())
        await until(lambda: any(c.get("metadata") for c in fake_slack.calls_to("chat.postMessage")),
                    "the summary to be posted")
        await bot.kill()
        assert "home" in incidents(tmp_path)[0].steps_done and "summary" not in incidents(tmp_path)[0].steps_done

        # 3. Restarted: the summary is found, not posted again, and the set-up finishes.
        fake_slack.answer_late(0, "chat.postMessage")
        await sender.close()
        bot = Process(tmp_path, fake_slack)
        await bot.start()
        sender = SlackSender(bot.url, SECRET, fake_slack.response_url())
        await until(lambda: "done" in incidents(tmp_path)[0].steps_done, "the set-up to finish")
        incident = incidents(tmp_path)[0]
        assert [c["name"] for c in fake_slack.channels.values() if c["name"].startswith("inc-")] == [
            "inc-1-checkout-is-down"] and incident.channel_name == "inc-1-checkout-is-down"
        summaries = [m for (c, _), m in fake_slack.messages.items() if c == incident.channel_id and m.get("metadata")]
        assert len(summaries) == 1 and incident.summary_ts == summaries[0]["ts"]
        assert len(fake_slack.pins) == 1
    finally:
        await sender.close()
        await bot.stop()


# -- a dead process's claims are free within a tick plus 15 s, whatever DELIVERY_LEASE is (SPEC §5) -------------

WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TICK_PLUS_15 = timedelta(seconds=1 + 15)  # SCHEDULER_TICK=1s


class MovedClock:
    """FIREFIGHTER_CLOCK_FILE: the processes' "now", moved by the test (a whole new file each time)."""

    def __init__(self, tmp_path: Path, start: datetime) -> None:
        self.path, self.now = tmp_path / "clock", start
        self._write()

    def advance(self, delta: timedelta) -> None:
        self.now += delta
        self._write()

    def _write(self) -> None:
        staging = self.path.with_suffix(".new")
        staging.write_text(self.now.isoformat())
        os.replace(staging, self.path)


def rows_of(database_url: str, model, order) -> list:
    engine = create_engine(database_url)
    with Session(engine) as session:
        rows = list(session.exec(select(model).order_by(order)))
    engine.dispose()
    return rows


async def test_a_killed_process_holds_nothing_longer_than_a_tick_and_15_seconds(tmp_path, fake_slack, database_url):
    """DELIVERY_LEASE left at its default (2 min). kill -9 while a P0's page and set-up are in flight, then while
    Slack has posted a summary the bot has not recorded yet: each time the restarted process takes the work over
    once its clock has moved one SCHEDULER_TICK plus 15 s past the dead one's last heartbeat — nothing waits for
    the 2 minutes, and nothing is doubled."""
    clock = MovedClock(tmp_path, WEDNESDAY_NOON)
    env = {"FIREFIGHTER_CLOCK_FILE": str(clock.path), "LOG_LEVEL": "WARNING"}
    fake_slack.add_channel("C0PAY", "payments-oncall")
    for user in ("U0A", "U0B"):
        fake_slack.add_user(user)
        fake_slack.channels["C0PAY"]["members"].add(user)

    def incidents() -> list[Incident]:
        return rows_of(database_url, Incident, Incident.number)

    def pages() -> list[Page]:
        return rows_of(database_url, Page, Page.id)

    def held() -> list[str]:
        return sorted(d.kind for d in rows_of(database_url, Delivery, Delivery.id) if d.claim_token)

    bot = Process(tmp_path, fake_slack, database_url, **env)
    await bot.start()
    sender = SlackSender(bot.url, SECRET, fake_slack.response_url())
    try:
        _, body, _ = await sender.command("rotation create payments <#C0PAY|payments-oncall>", user="U0A")
        assert body.startswith("Created the rotation"), body
        _, body, _ = await sender.command("rotation add payments <@U0A> <@U0B>", user="U0A")
        assert body.startswith("Added"), body
        await until(lambda: all(d.state != "queued" for d in rows_of(database_url, Delivery, Delivery.id)),
                    "the rotation's messages to go out")

        # 1. Killed while set-ups are in flight: the P0's first page is on its way (Slack is slow), its set-up
        # waits behind it under the same process's claim.
        fake_slack.slow(30, "chat.postMessage")
        view = declare_modal(metadata=json.dumps({"channel": "C0GENERAL"}), rotations=[(1, "payments")],
                             rotation_id=1)
        status, body, _ = await sender.interaction(view_submission({**view, "id": "V0P0"}, {
            "title": "Checkout is down", "priority": "P0", "commander": "U0COMMANDER"}, user="U0REPORTER"))
        assert (status, body) == (200, "")
        await until(lambda: any(c["channel"] == "U0A" for c in fake_slack.calls_to("chat.postMessage")),
                    "the page to start")
        await bot.kill()
        assert held() == ["page", "setup"]  # the dead process's claims
        fake_slack.slow(0, "chat.postMessage")
        await sender.close()

        bot = Process(tmp_path, fake_slack, database_url, **env)
        await bot.start()
        sender = SlackSender(bot.url, SECRET, fake_slack.response_url())
        clock.advance(TICK_PLUS_15)
        await until(lambda: "done" in incidents()[0].steps_done and pages()[0].state == "waiting",
                    "the page and the set-up to be taken over", seconds=15)
        incident = incidents()[0]
        page_dms = [m for (c, _), m in fake_slack.messages.items() if c == "DU0A" and "You are paged" in m["text"]]
        assert len(page_dms) == 1 and pages()[0].dm_ts == page_dms[0]["ts"]
        assert [c["name"] for c in fake_slack.channels.values() if c["name"].startswith("inc-")] == [
            "inc-1-checkout-is-down"]
        assert len([m for (c, _), m in fake_slack.messages.items() if c == incident.channel_id
                    and m.get("metadata")]) == 1
        assert len([m for (c, _), m in fake_slack.messages.items()
                    if c == "C0PAY" and "INC-1" in (m["text"] or "")]) == 1  # the announcement
        assert len(fake_slack.pins) == 1 and held() == []

        # 2. Killed between Slack accepting a summary and the bot recording it.
        fake_slack.answer_late(30, "chat.postMessage")
        view = declare_modal(metadata=json.dumps({"channel": "C0GENERAL"}), rotations=[])
        status, body, _ = await sender.interaction(view_submission({**view, "id": "V0P1"}, {
            "title": "Search is slow", "priority": "P1", "commander": "U0COMMANDER"}, user="U0REPORTER"))
        assert (status, body) == (200, "")
        await until(lambda: len(incidents()) == 2 and incidents()[1].channel_id and any(
            c.get("metadata") and c["channel"] == incidents()[1].channel_id
            for c in fake_slack.calls_to("chat.postMessage")), "the summary to be posted")
        await bot.kill()
        assert "summary" not in incidents()[1].steps_done and held() == ["setup"]
        fake_slack.answer_late(0, "chat.postMessage")
        await sender.close()

        bot = Process(tmp_path, fake_slack, database_url, **env)
        await bot.start()
        sender = SlackSender(bot.url, SECRET, fake_slack.response_url())
        clock.advance(TICK_PLUS_15)
        await until(lambda: "done" in incidents()[1].steps_done, "the set-up to be taken over", seconds=15)
        second = incidents()[1]
        summaries = [m for (c, _), m in fake_slack.messages.items() if c == second.channel_id and m.get("metadata")]
        assert len(summaries) == 1 and second.summary_ts == summaries[0]["ts"]
        assert len(fake_slack.pins) == 2 and held() == []
    finally:
        await sender.close()
        await bot.stop()
