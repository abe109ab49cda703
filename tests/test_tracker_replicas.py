"""Two real `python -m bot` processes on one PostgreSQL with a GitHub tracker: the same issue event delivered to
both at once makes one incident, and the incidents declared through both get one issue each."""

from __future__ import annotations

import asyncio
import json

from bot.views.incident import declare_modal
from tests.slack_requests import view_submission
from tests.test_replicas import postgres_database, replicas  # noqa: F401 (a fixture)
from tests.trackers import WEBHOOK_SECRET, start_side

DECLARED = 6


async def test_two_processes_one_incident_per_issue_and_one_issue_per_incident(tmp_path, fake_slack,
                                                                               postgres_database):  # noqa: F811
    side = await start_side("github")
    try:
        async with replicas(tmp_path, fake_slack, postgres_database, GITHUB_REPO=side.fake.repo,
                            GITHUB_TOKEN=side.fake.token, GITHUB_API_URL=side.fake.url,
                            GITHUB_WEBHOOK_SECRET=WEBHOOK_SECRET) as senders:
            issue = side.fake.add_issue("Deploys are failing", ["firefighter", "P1"])
            raw = json.dumps(side.event("opened", issue)).encode()
            relabelled = json.dumps(side.event("labeled", issue)).encode()

            async def deliver(n: int) -> int:
                body, delivery = (raw, "one-delivery") if n % 2 else (relabelled, f"delivery-{n}")
                sender = senders[n % 2]
                async with sender.session.post(f"{sender.base_url}/webhooks/github", data=body,
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
                if len(opened()) >= DECLARED and side.fake.comments[issue["number"]]:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(2.5)  # more ticks on both processes: nothing more may go out
            titles = sorted(i["title"] for i in opened())
            assert len(titles) == DECLARED == len(set(titles)), titles
            assert "INC-1: Deploys are failing" not in titles, "the issue that declared INC-1 is its issue"
            assert len(side.fake.comments[issue["number"]]) == 1, side.fake.comments[issue["number"]]
            assert len([m for m in fake_slack.calls if m.method == "conversations.create"]) == DECLARED + 1
    finally:
        await side.fake.stop()
