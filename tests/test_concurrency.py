"""Many people at once, through two real `python -m bot` processes on one database (a SQLite file, and PostgreSQL):
acknowledge, take command, escalate, add the same responder, resolve, and run the same roster change — all fired
together at both replicas. Whatever the interleaving, each effect happens once, each has one timeline event, and
what Slack was told agrees with what is stored."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from collections import Counter

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.db.models import (
    Delivery,
    Incident,
    IncidentResponder,
    Page,
    RotationOverride,
    RotationSwap,
    TimelineEvent,
)
from bot.slack.ids import ActionId
from bot.views.incident import declare_modal
from tests.conftest import SECRET, TOKEN
from tests.slack_requests import SlackSender, view_submission
from tests.test_process import bot_env, free_port, wait_healthy

INCIDENTS = 6


class Replicas:
    def __init__(self, database_url: str, fake_slack, tmp_path) -> None:
        self.url, self.fake, self.tmp_path = database_url, fake_slack, tmp_path
        self.processes: list[asyncio.subprocess.Process] = []
        self.senders: list[SlackSender] = []
        self.engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)

    async def start(self, count: int = 2) -> None:
        for _ in range(count):
            port = free_port()
            env = bot_env(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=self.fake.api_url,
                          DATABASE_URL=self.url, HOST="127.0.0.1", PORT=str(port), INCIDENTS_CHANNEL="C0INCIDENTS",
                          SCHEDULER_TICK="1s", ESCALATION_TIMEOUT_P0="1h", P0_UPDATE_INTERVAL="2h",
                          LOG_LEVEL="WARNING")
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=self.tmp_path, env=env, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL)
            self.processes.append(process)
            await wait_healthy(f"http://127.0.0.1:{port}", process)
            self.senders.append(SlackSender(f"http://127.0.0.1:{port}", SECRET, self.fake.response_url()))

    def rows(self, model, *where) -> list:
        with Session(self.engine) as session:
            return list(session.exec(select(model).where(*where)))

    async def until(self, condition, what: str, seconds: float = 30) -> None:
        for _ in range(int(seconds / 0.05)):
            if condition():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    async def stop(self) -> None:
        for sender in self.senders:
            await sender.close()
        for process in self.processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await process.wait()
        self.engine.dispose()


async def test_simultaneous_actors_settle_on_one_outcome(tmp_path, fake_slack, database_url):
    for user in ("U0A", "U0B", "U0C", "U0D"):
        fake_slack.add_user(user)
    fake_slack.add_channel("C0PAY", "payments-oncall", members=("U0A",))
    replicas = Replicas(database_url, fake_slack, tmp_path)
    try:
        await replicas.start()
        one, two = replicas.senders
        _, body, _ = await one.command("rotation create payments <#C0PAY|payments-oncall>", user="U0A")
        assert body.startswith("Created the rotation"), body
        _, body, _ = await two.command("rotation add payments <@U0A> <@U0B> <@U0C>", user="U0A")
        assert body.startswith("Added"), body
        view = declare_modal(metadata=json.dumps({"channel": "C0GENERAL"}), rotations=[(1, "payments")],
                             rotation_id=1)
        for n in range(INCIDENTS):  # no commander: the first to acknowledge takes command
            status, body, _ = await replicas.senders[n % 2].interaction(view_submission(
                {**view, "id": f"V0RACE{n}"}, {"title": f"Race {n}", "priority": "P0"}, user="U0REPORTER"))
            assert (status, body) == (200, "")
        await replicas.until(lambda: len(replicas.rows(Page, Page.state == "waiting")) == INCIDENTS,
                             "every first page to be delivered")
        pages = {p.incident_id: p for p in replicas.rows(Page)}
        incidents = sorted(replicas.rows(Incident), key=lambda i: i.number)
        # two processes numbered them in turn (on PostgreSQL, each number and its commit in one message): no gap
        assert [i.number for i in incidents] == list(range(1, INCIDENTS + 1))

        def click(sender, action: str, value: int, user: str):
            return sender.click(action, str(value), user=user, channel=incidents[0].channel_id)

        requests = []
        for n, incident in enumerate(incidents):
            page = pages[incident.id]
            number = incident.number
            requests += [
                click(one, ActionId.ACKNOWLEDGE, number, "U0A"),
                click(two, ActionId.PAGE_ACKNOWLEDGE, page.id, "U0A"),
                click(two, ActionId.ACKNOWLEDGE, number, "U0B"),
                click(one, ActionId.TAKE_COMMAND, number, "U0C"),
                click(two, ActionId.PAGE_ESCALATE, page.id, "U0A"),
                click(one, ActionId.PAGE_ESCALATE, page.id, "U0A"),
                one.command(f"responders add INC-{number} <@U0D>", user="U0B"),
                two.command(f"responders add INC-{number} <@U0D>", user="U0C"),
            ]
            if n % 2:
                requests += [one.command(f"status INC-{number} resolved fixed by A", user="U0A"),
                             two.command(f"status INC-{number} resolved fixed by B", user="U0B")]
        # The same swap asked by both people at once, and one override request delivered to both replicas.
        requests += [one.command("rotation swap payments <@U0A> <@U0B> next", user="U0A"),
                     two.command("rotation swap payments <@U0B> <@U0A> next", user="U0B")]
        override = one.command_body("rotation override payments <@U0C> 2030-01-07 2030-01-08", user="U0A")
        requests += [sender.post(override, "application/x-www-form-urlencoded") for sender in (one, two)]
        answers = await asyncio.gather(*requests)
        assert all(status == 200 for status, _, _ in answers), [a for a in answers if a[0] != 200]
        replays = [body for _, body, _ in answers if body.startswith("Already done")]
        assert len(replays) == 1 and "rotation override" in replays[0], replays  # only the override sent twice

        def drained() -> bool:
            return all(m.state != "queued" for m in replicas.rows(Delivery)) and not replicas.rows(
                Page, Page.state == "queued")
        await replicas.until(drained, "every message to be delivered")
        await asyncio.sleep(1.5)  # a tick or so more on both processes: nothing else may go out

        for incident in replicas.rows(Incident):
            ref = f"INC-{incident.number}"
            # In the order they were made (under the incident's lock): PostgreSQL returns rows that concurrent
            # transactions inserted in no particular order without an ORDER BY.
            events = sorted(replicas.rows(TimelineEvent, TimelineEvent.incident_id == incident.id),
                            key=lambda e: e.id)
            kinds = Counter(e.kind for e in events)
            took = [e for e in events if "took command" in e.text]
            assert kinds["acknowledged"] <= 1 and len(took) <= 1, (ref, [(e.kind, e.text) for e in events])
            deciders = [e for e in events if e.kind == "commander" or "took command" in e.text]
            if incident.acknowledged_at is None:  # resolved before anyone got there: nobody took it
                assert incident.status == "resolved" and not deciders and incident.commander_id is None, ref
            else:
                assert deciders and deciders[-1].actor_id == incident.commander_id, (ref, incident.commander_id)
            added = sum("added <@U0D>" in e.text for e in events)
            assert added == len(replicas.rows(IncidentResponder, IncidentResponder.incident_id == incident.id,
                                              IncidentResponder.user_id == "U0D")), ref
            assert added == 1 or incident.status == "resolved", ref
            if incident.number % 2 == 0:  # the odd-indexed ones (INC-2, 4, 6) were resolved by two people at once
                assert incident.status == "resolved" and kinds["resolved"] == 1, (ref, kinds)

            # Once acknowledged (or resolved), no later step of the chain went out; every page is closed and
            # lost its buttons.
            chain = replicas.rows(Page, Page.incident_id == incident.id)
            assert all(p.state == "done" for p in chain), [(p.step, p.state) for p in chain]
            sent = [p for p in chain if p.dm_ts]
            stopped = min(t for t in (incident.acknowledged_at, incident.resolved_at) if t)
            assert all(p.created_at <= stopped for p in sent), ref
            dms = [c for c in fake_slack.calls_to("chat.postMessage")
                   if c["channel"].startswith("U") and re.search(rf"paged.* for .*{ref}\b", c.get("text") or "")]
            assert len(dms) == len(sent), (ref, len(dms), len(sent))
            for page in sent:
                message = fake_slack.messages[(page.dm_channel, page.dm_ts)]
                assert "page_actions" not in json.dumps(message.get("blocks")), (ref, message)

            # The channel heard each effect once, as stored.
            said = [m.get("text") or "" for (channel, _), m in fake_slack.messages.items()
                    if channel == incident.channel_id]
            assert sum(t.startswith(":eyes:") for t in said) == kinds["acknowledged"], (ref, said)
            assert sum("They are the commander" in t for t in said) == len(took), (ref, said)
            # (":firefighter:" — the analysis draft quotes the timeline, "took command" included)
            assert sum(t.startswith(":firefighter:") for t in said) == kinds["commander"], (ref, said)

        assert len(replicas.rows(RotationSwap)) == 1
        assert len(replicas.rows(RotationOverride)) == 1
    finally:
        await replicas.stop()
