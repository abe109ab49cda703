"""The load generator: signed requests in the shapes Slack sends, posted in bursts (N requests, C in flight) or at a
steady rate, each ack timed. It runs in the benchmark's own process and event loop; the apps and the fake Slack
run in theirs. Requests are built and signed before the clock starts, so the generator does little while timing.

A request counts as failed when Slack would see a failure: not a 200, no answer, an answer later than 3 s (Slack
gives up then and shows the person an error), or a form answered with errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import gc
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp

from bench.processes import SECRET
from bot.slack.ids import ActionId, BlockId
from bot.views.incident import declare_modal
from tests.slack_requests import sample, sign, view_submission

SLACK_TIMEOUT = 3.0
USER = "U0BENCH"
CHANNEL = "C0GENERAL"


@dataclass
class Request:
    body: str
    key: str = ""  # the trigger id (a command's form is found by it at the fake)
    form: bool = False  # a form submission: an answer with errors is a failure


def command(text: str, trigger_id: str, response_url: str) -> Request:
    fields = sample("slash_command_fields.json")
    fields.update(command="/incident", text=text, user_id=USER, user_name="bench", channel_id=CHANNEL,
                  channel_name="general", response_url=response_url, trigger_id=trigger_id)
    return Request(urlencode(fields), trigger_id)


# The form as the bot opens it in a workspace with one rotation: "payments" chosen by default.
_FORM = declare_modal(metadata=json.dumps({"channel": CHANNEL}), rotations=[(1, "payments")], rotation_id=1)


def declaration(view_id: str, title: str, priority: str = "P2") -> Request:
    """The declare form submitted (each view id once: the bot takes a second submission of a view as a retry)."""
    payload = view_submission({**_FORM, "id": view_id}, {BlockId.TITLE: title, BlockId.PRIORITY: priority},
                              user=USER)
    return Request(urlencode({"payload": json.dumps(payload)}), view_id, form=True)


def acknowledge(number: int, channel: str, trigger_id: str, response_url: str, user: str = USER) -> Request:
    """The summary message's Acknowledge button, as clicked in the incident's channel by `user` (a firefighter:
    the reporter may not acknowledge, and a refusal is not what a burst of Acknowledge clicks measures)."""
    payload = copy.deepcopy(sample("block_actions_payload.json"))
    payload.update(user={"id": user, "username": "bench", "name": "bench", "team_id": "T111"},
                   trigger_id=trigger_id, response_url=response_url, channel={"id": channel, "name": "incident"},
                   container={"type": "message", "message_ts": "1.2", "channel_id": channel})
    payload["actions"] = [{"action_id": ActionId.ACKNOWLEDGE, "block_id": BlockId.SUMMARY_ACTIONS,
                           "value": str(number), "type": "button", "action_ts": "1.3",
                           "text": {"type": "plain_text", "text": "Acknowledge"}}]
    return Request(urlencode({"payload": json.dumps(payload)}), trigger_id)


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    sent_at: dict[str, float] = field(default_factory=dict)  # key -> time.monotonic() when it was sent
    seconds: float = 0.0


def _signed(requests: list[Request]) -> list[tuple[Request, bytes, dict]]:
    return [(r, r.body.encode(), {"Content-Type": "application/x-www-form-urlencoded", **sign(SECRET, r.body)})
            for r in requests]


async def _send(session: aiohttp.ClientSession, url: str, signed: tuple[Request, bytes, dict],
                result: Result) -> None:
    request, body, headers = signed
    started = time.monotonic()
    result.sent_at[request.key] = started
    try:
        async with session.post(url + "/slack/events", data=body, headers=headers) as response:
            answer = await response.read()
            ok = response.status == 200 and not (request.form and b'"errors"' in answer)
    except (aiohttp.ClientError, TimeoutError):
        ok = False
    latency = time.monotonic() - started
    result.latencies.append(latency)
    result.failures += not ok or latency > SLACK_TIMEOUT


@contextlib.contextmanager
def no_collections():
    """The generator's own garbage collections stay out of the latencies it times: this process holds every Slack
    call of the run, and a full collection here paused every request in flight for 61–75 ms in one burst of four
    at full size, on whichever side was being timed (its p99 is the 10 slowest of 1,000). Collected before."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def burst(url: str, requests: list[Request], concurrency: int) -> Result:
    """All of `requests`, `concurrency` in flight at any moment."""
    signed = _signed(requests)
    result = Result()
    timeout = aiohttp.ClientTimeout(total=30)
    with no_collections():
        return await _burst(url, signed, concurrency, result, timeout)


async def _burst(url: str, signed: list, concurrency: int, result: Result, timeout: aiohttp.ClientTimeout) -> Result:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency), timeout=timeout) as session:
        queue = iter(signed)

        async def worker() -> None:
            for one in queue:  # one iterator shared by the workers: each request is sent once
                await _send(session, url, one, result)
        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = time.monotonic() - started
    return result


async def steady(url: str, requests: list[Request], rate: float, concurrency: int = 400) -> Result:
    """One request every 1/`rate` seconds, whether or not earlier ones were answered (as people declare)."""
    signed = _signed(requests)
    result = Result()
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency), timeout=timeout) as session:
        started = time.monotonic()
        tasks = []
        for i, one in enumerate(signed):
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            tasks.append(asyncio.create_task(_send(session, url, one, result)))
        await asyncio.gather(*tasks)
        result.seconds = time.monotonic() - started
    return result


def percentile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q% of them at or below it."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -int(-q * len(ordered) // 100) - 1))]
