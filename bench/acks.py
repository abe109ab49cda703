"""Ack latency under load: signed `/incident` commands and declare-form submissions at 200 concurrent, against the
bot (`python -m bot`, HTTP mode, a fake Slack) and against a bare Bolt app that only acks, in the same run."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

from bot.views.incident import declare_modal
from tests.fake_slack import FakeSlack
from tests.slack_requests import sample, sign, view_submission

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret"


@dataclass
class Run:
    name: str
    latencies: list[float]
    failures: int
    seconds: float

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1] if len(ordered) > 1 else ordered[0]

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _healthy(url: str, seconds: float = 30) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(int(seconds / 0.05)):
            try:
                async with session.get(url + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not become healthy")


def _command_body(n: int) -> str:
    fields = sample("slash_command_fields.json")
    fields.update(command="/incident", text="", user_id="U0BENCH", user_name="bench", channel_id="C0GENERAL",
                  channel_name="general", response_url="http://127.0.0.1:9/response", trigger_id=f"{n}.1.bench")
    return urlencode(fields)


def _submission_body(n: int, view: dict) -> str:
    payload = view_submission({**view, "id": f"VBENCH{n:06d}"}, {"title": f"Bench incident {n}", "priority": "P2"},
                              user="U0BENCH")
    return urlencode({"payload": json.dumps(payload)})


async def hammer(url: str, name: str, bodies: list[str], concurrency: int) -> Run:
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[str] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker() -> None:
            nonlocal failures
            while not queue.empty():
                body = queue.get_nowait()
                headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(SECRET, body)}
                started = time.perf_counter()
                try:
                    async with session.post(url + "/slack/events", data=body.encode(), headers=headers) as response:
                        await response.read()
                        ok = response.status == 200
                except aiohttp.ClientError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                failures += not ok
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return Run(name, latencies, failures, seconds)


async def _spawn(args: list[str], env: dict[str, str], cwd: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(*args, cwd=cwd, env=env, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)


async def measure(requests: int, concurrency: int) -> dict:
    """Runs both apps the same way; returns the runs, memory and Slack calls per declaration."""
    workdir = tempfile.mkdtemp(prefix="ff-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    env["PYTHONPATH"] = str(ROOT)
    fake = await FakeSlack().start()
    fake.add_user("U0BENCH")
    fake.add_channel("C0GENERAL", "general")
    fake.add_channel("C0INCIDENTS", "incidents")
    view = declare_modal(metadata=json.dumps({"channel": "C0GENERAL"}), rotations=[])
    commands = [_command_body(n) for n in range(requests)]
    submissions = [_submission_body(n, view) for n in range(requests)]
    result: dict = {}
    try:
        port = _free_port()
        baseline = await _spawn([sys.executable, "-m", "bench.baseline", "--port", str(port), "--secret", SECRET],
                                env, str(ROOT))
        try:
            url = f"http://127.0.0.1:{port}"
            await _healthy(url)
            await hammer(url, "warm-up", commands[:200], concurrency)
            await asyncio.sleep(3)
            result["baseline_commands"] = await hammer(url, "baseline /incident", commands, concurrency)
            await asyncio.sleep(3)
            result["baseline_submissions"] = await hammer(url, "baseline submit", submissions, concurrency)
        finally:
            baseline.terminate()
            await baseline.wait()

        port = _free_port()
        bot_env = {**env, "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET,
                   "SLACK_API_URL": fake.api_url, "DATABASE_URL": f"sqlite:///{workdir}/bench.db",
                   "HOST": "127.0.0.1", "PORT": str(port), "INCIDENTS_CHANNEL": "C0INCIDENTS",
                   "LOG_LEVEL": "WARNING"}
        bot = await _spawn([sys.executable, "-m", "bot"], bot_env, workdir)
        try:
            url = f"http://127.0.0.1:{port}"
            await _healthy(url)
            await asyncio.sleep(1)
            result["rss_at_rest"] = rss_mb(bot.pid)
            await hammer(url, "warm-up", commands[:200], concurrency)
            await asyncio.sleep(3)  # each burst meets an idle bot, as the baseline does
            result["bot_commands"] = await hammer(url, "bot /incident", commands, concurrency)
            await asyncio.sleep(3)
            before = len(fake.calls)
            result["bot_submissions"] = await hammer(url, "bot submit", submissions, concurrency)
            declared = await _wait_declared(fake, requests)
            calls = [c for c in fake.calls[before:] if c.method != "views.open"]
            result["calls_per_declaration"] = len(calls) / declared if declared else float("nan")
            result["rss_after_load"] = rss_mb(bot.pid)
        finally:
            bot.terminate()
            await bot.wait()
    finally:
        await fake.stop()
    return result


async def _wait_declared(fake: FakeSlack, expected: int, seconds: float = 120) -> int:
    """Until every declared incident has its announcement (the last set-up step)."""
    for _ in range(int(seconds / 0.1)):
        announced = sum(1 for (channel, _), _m in list(fake.messages.items()) if channel == "C0INCIDENTS")
        if announced >= expected:
            return announced
        await asyncio.sleep(0.1)
    return sum(1 for (channel, _), _m in list(fake.messages.items()) if channel == "C0INCIDENTS")
