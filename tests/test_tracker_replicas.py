"""Two real `python -m bot` processes on one PostgreSQL with a GitHub tracker: the same issue event delivered to
both at once makes one incident, and the incidents declared through both get one issue each."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from bot.views.incident import declare_modal
from tests.conftest import SECRET, TOKEN
from tests.slack_requests import SlackSender, view_submission
from tests.test_process import bot_env, free_port, wait_healthy
from tests.test_replicas import postgres_database  # noqa: F401 (a fixture)
from tests.trackers import WEBHOOK_SECRET, start_side

DECLARED = 6


async def test_two_processes_one_incident_per_issue_and_one_issue_per_incident(tmp_path, fake_slack,
                                                                               postgres_database):  # noqa: F811
    side = await start_side("github")
    for user in ("U0A", "U0B", "U0C"):
        fake_slack.add_user(user)
    fake_slack.add_channel("C0PAY", "payments-oncall")
    processes, senders, urls = [], [], []
    try:
        for _ in range(2):
            port = free_port()
            env = bot_env(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake_slack.api_url,
                          DATABASE_URL=postgres_database, HOST="127.0.0.1", PORT=str(port),
                          INCIDENTS_CHANNEL="C0INCIDENTS", SCHEDULER_TICK="1s", LOG_LEVEL="WARNING",
                          GITHUB_REPO=side.fake.repo, GITHUB_TOKEN=side.fake.token, GITHUB_API_URL=side.fake.url,
                          GITHUB_WEBHOOK_SECRET=WEBHOOK_SECRET)
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=tmp_path, env=env, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL)
            processes.append(process)
            urls.append(f"http://127.0.0.1:{port}")
            await wait_healthy(urls[-1], process)
            senders.append(SlackSender(urls[-1], SECRET, fake_slack.response_url()))

        _, body, _ = await senders[0].command("rotation create payments <#C0PAY|payments-oncall>", user="U0A")
        assert body.startswith("Created the rotation")
        _, body, _ = await senders[1].command("rotation add payments <@U0A> <@U0B> <@U0C>", user="U0A")
        assert body.startswith("Added")

        issue = side.fake.add_issue("Deploys are failing", ["firefighter", "P1"])
        raw = json.dumps(side.event("opened", issue)).encode()
        relabelled = json.dumps(side.event("labeled", issue)).encode()

        async def deliver(n: int) -> int:
            body, delivery = (raw, "one-delivery") if n % 2 else (relabelled, f"delivery-{n}")
            async with senders[n % 2].session.post(f"{urls[n % 2]}/webhooks/github", data=body,
                                                   headers=side.signed(body, delivery=delivery)) as response:
                return response.status

        assert set(await asyncio.gather(*(deliver(n) for n in range(12)))) == {202}

        view = declare_modal(metadata=json.dumps({"channel": "C0GENERAL"}), rotations=[(1, "payments")],
                             rotation_id=1)
        answers = await asyncio.gather(*(
            senders[n % 2].interaction(view_submission({**view, "id": f"V0TRACK{n}"}, {
                "title": f"Outage {n}", "priority": "P0", "commander": "U0COMMANDER"}, user="U0REPORTER"))
            for n in range(DECLARED)))
        assert all(status == 200 and body == "" for status, body, _ in answers)

        def opened() -> list[dict]:
            return [i for i in side.fake.issues.values() if i["title"].startswith("INC-")]

        for _ in range(400):
            if len(opened()) >= DECLARED and all(side.fake.comments[i["number"]] for i in [issue]):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(2.5)  # more ticks on both processes: nothing more may go out
        titles = sorted(i["title"] for i in opened())
        assert len(titles) == DECLARED == len(set(titles)), titles
        assert "INC-1: Deploys are failing" not in titles, "the issue that declared INC-1 is its issue"
        assert len(side.fake.comments[issue["number"]]) == 1, side.fake.comments[issue["number"]]
        incidents = [m for m in fake_slack.calls if m.method == "conversations.create"]
        assert len(incidents) == DECLARED + 1
    finally:
        for sender in senders:
            await sender.close()
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await process.wait()
        await side.fake.stop()
