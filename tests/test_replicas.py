"""Two real `python -m bot` processes on one PostgreSQL: a burst of declarations, escalations and reminders,
each sent exactly once whichever process gets there first."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bot.views.incident import declare_modal
from tests.conftest import SECRET, TOKEN, cannot_run
from tests.slack_requests import SlackSender, view_submission
from tests.test_process import bot_env, free_port, wait_healthy

INCIDENTS = 8


@pytest.fixture
def postgres_database(postgres) -> str:
    if not postgres.url:
        cannot_run(f"PostgreSQL is not available: {postgres.why_not}")
    return postgres.new_database()


@asynccontextmanager
async def replicas(tmp_path, fake_slack, database: str, **env: str) -> AsyncIterator[list[SlackSender]]:
    """Two `python -m bot` processes on one database with the rotation `payments` (U0A, U0B, U0C) in place;
    stopped (SIGTERM) afterwards."""
    for user in ("U0A", "U0B", "U0C"):
        fake_slack.add_user(user)
    fake_slack.add_channel("C0PAY", "payments-oncall", members=("U0A",))
    processes, senders = [], []
    try:
        for _ in range(2):
            port = free_port()
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL, env=bot_env(
                    SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake_slack.api_url,
                    DATABASE_URL=database, HOST="127.0.0.1", PORT=str(port), INCIDENTS_CHANNEL="C0INCIDENTS",
                    SCHEDULER_TICK="1s", LOG_LEVEL="WARNING", **env))
            processes.append(process)
            await wait_healthy(f"http://127.0.0.1:{port}", process)
            senders.append(SlackSender(f"http://127.0.0.1:{port}", SECRET, fake_slack.response_url()))
        _, body, _ = await senders[0].command("rotation create payments <#C0PAY|payments-oncall>", user="U0A")
        assert body.startswith("Created the rotation")
        _, body, _ = await senders[1].command("rotation add payments <@U0A> <@U0B> <@U0C>", user="U0A")
        assert body.startswith("Added")
        yield senders
    finally:
        for sender in senders:
            await sender.close()
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await process.wait()


async def test_two_processes_send_each_page_and_reminder_once(tmp_path, fake_slack, postgres_database):
    async with replicas(tmp_path, fake_slack, postgres_database, ESCALATION_TIMEOUT_P0="2s",
                        P0_UPDATE_INTERVAL="4s", P0_RENAG_INTERVAL="1h") as senders:
        view = declare_modal(metadata=json.dumps({"channel": "C0GENERAL"}), rotations=[(1, "payments")],
                             rotation_id=1)
        answers = await asyncio.gather(*(
            senders[n % 2].interaction(view_submission({**view, "id": f"V0BURST{n}"}, {
                "title": f"Burst {n}", "priority": "P0", "commander": "U0COMMANDER"}, user="U0REPORTER"))
            for n in range(INCIDENTS)))
        assert all(status == 200 and body == "" for status, body, _ in answers)

        def sent(channel_prefix: str, pattern: str) -> Counter:
            found: Counter = Counter()
            for (channel, _), message in list(fake_slack.messages.items()):
                text = message.get("text") or ""
                if channel.startswith(channel_prefix) and (m := re.search(pattern, text)):
                    found[(channel, m.group(1))] += 1
            return found

        def settled() -> bool:
            here = sent("C0PAY", r"(INC-\d+) needs a firefighter")
            nags = sent("C", r"\*(INC-\d+)\* \(P0\) Burst \d+ has had no update")
            return len(here) == INCIDENTS and len(nags) == INCIDENTS

        for _ in range(400):
            if settled():
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(2.5)  # a few more ticks on both processes: nothing more may go out
        assert settled(), "the burst did not finish"

        for user in ("U0A", "U0B", "U0C"):
            pages = sent(f"D{user}", r"You are paged for (INC-\d+)")
            assert len(pages) == INCIDENTS and set(pages.values()) == {1}, (user, pages)
        assert set(sent("C0PAY", r"(INC-\d+) needs a firefighter").values()) == {1}
        nags = sent("C", r"\*(INC-\d+)\* \(P0\) Burst \d+ has had no update")
        assert len(nags) == INCIDENTS and set(nags.values()) == {1}, nags
        assert len([c for c in fake_slack.calls if c.method == "conversations.create"]) == INCIDENTS
