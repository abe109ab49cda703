"""The processes a benchmark runs, each on its own (so none shares an event loop with the load generator): the fake
Slack, the app under test (the bot, or the bare Bolt baseline), the database proxy. Also how to tell that an app
is quiet (its background work is done) and how much memory it holds."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bot.http.tokens import page_token

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret"
WEB_SECRET = "bench-web-secret"  # signs the /healthz link that shows the outbox's figures
INCIDENTS_CHANNEL = "C0INCIDENTS"


# Ports for processes we start: below the kernel's ephemeral range (32768-60999 here), where port 0 and outgoing
# connections get theirs, in a band of each pytest-xdist worker's own (and one for a run without workers).
_FIRST_PORT, _PORT_BAND, _BANDS = 20000, 800, 13
_ports_tried = itertools.count()


def free_port() -> int:
    """A port free now, for a process started next to listen on. A port the kernel handed out as port 0 could be
    taken by another test's server or connection before the process bound it, and a bot that then found another's
    /healthz answering was taken for started: so the port comes from a band no one else takes from."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    band = int(worker[2:]) % (_BANDS - 1) if worker[2:].isdigit() else _BANDS - 1
    first = _FIRST_PORT + band * _PORT_BAND
    for _ in range(_PORT_BAND):
        port = first + next(_ports_tried) % _PORT_BAND
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:  # in use, or still closing
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{first + _PORT_BAND - 1}")


def _env(**more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    return {**env, "PYTHONPATH": str(ROOT), **more}


@dataclass
class Process:
    name: str
    process: asyncio.subprocess.Process
    url: str

    @classmethod
    async def start(cls, name: str, args: list[str], env: dict[str, str], url: str, ready: str,
                    cwd: str | None = None) -> Process:
        """What it writes goes to `<cwd>/<name>.log`."""
        with open(Path(cwd or tempfile.gettempdir()) / f"{name.replace(' ', '-')}.log", "ab") as log:
            process = await asyncio.create_subprocess_exec(sys.executable, *args, cwd=cwd or str(ROOT), env=env,
                                                           stdout=log, stderr=log)
        started = cls(name, process, url)
        async with aiohttp.ClientSession() as session:
            for _ in range(600):
                if process.returncode is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}")
                try:
                    async with session.get(url + ready) as response:
                        if response.status == 200:
                            return started
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.05)
        await started.stop()
        raise RuntimeError(f"{name} did not answer {url + ready}")

    def memory_mb(self, field: str = "VmRSS") -> float:
        """VmRSS: resident now; VmHWM: the most it was ever resident."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


class Fake:
    """The fake Slack (`python -m tests.fake_slack`), answering every method after `latency_ms`, and what it says
    about itself (`/_calls`, `/_state`, `/_setup`)."""

    def __init__(self, process: Process, session: aiohttp.ClientSession) -> None:
        self.process, self.session, self.url = process, session, process.url
        self.api_url = self.url + "/api/"
        self.response_url = self.url + "/response/bench"
        self._next = 0
        self.calls: list[dict] = []  # every call so far, as /_calls describes it

    @classmethod
    async def start(cls, latency_ms: float) -> Fake:
        port = free_port()
        process = await Process.start("fake Slack", ["-m", "tests.fake_slack", "--port", str(port), "--quiet",
                                                     "--brief", "--latency-ms", str(latency_ms)], _env(),
                                      f"http://127.0.0.1:{port}", "/_state")
        return cls(process, aiohttp.ClientSession())

    async def stop(self) -> None:
        await self.session.close()
        await self.process.stop()

    async def read_calls(self) -> list[dict]:
        """The calls made since the last read (also appended to `calls`)."""
        async with self.session.get(f"{self.url}/_calls", params={"since": self._next}) as response:
            body = await response.json()
        self._next = body["next"]
        self.calls += body["calls"]
        return body["calls"]

    async def state(self) -> dict:
        async with self.session.get(f"{self.url}/_state") as response:
            return await response.json()

    async def setup(self, channels: list[tuple[str, str]] = (), users: list[str] = ()) -> None:
        async with self.session.post(f"{self.url}/_setup", json={"channels": list(channels), "users": list(users)}):
            pass


async def start_bot(fake: Fake, database_url: str, workdir: str, **more: str) -> Process:
    port = free_port()
    env = _env(SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake.api_url,
               DATABASE_URL=database_url, HOST="127.0.0.1", PORT=str(port), INCIDENTS_CHANNEL=INCIDENTS_CHANNEL,
               LOG_LEVEL="WARNING", WEB_SECRET=WEB_SECRET, **more)
    return await Process.start("bot", ["-m", "bot"], env, f"http://127.0.0.1:{port}", "/healthz", cwd=workdir)


async def start_baseline(fake: Fake) -> Process:
    port = free_port()
    return await Process.start("baseline", ["-m", "bench.baseline", "--port", str(port), "--secret", SECRET,
                                            "--slack-api-url", fake.api_url], _env(),
                               f"http://127.0.0.1:{port}", "/healthz")


async def start_proxy(target_port: int, delay_ms: float) -> Process:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.proxy", "--port", str(port), "--to", f"127.0.0.1:{target_port}",
        "--delay-ms", str(delay_ms), cwd=str(ROOT), env=_env(), stdout=asyncio.subprocess.DEVNULL)
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return Process("proxy", process, f"127.0.0.1:{port}")
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError("the proxy did not start")


# One signed /healthz link for the whole run (it lasts 12 hours), as a person keeps a link: a new query string each
# second made the bot build and cache a new URL while a burst was at its peak, and the memory row counted it.
_HEALTH_LINK = {"token": page_token(WEB_SECRET, datetime.now(UTC))}


async def quiet(app: Process, fake: Fake, settle: float = 1.0, limit: float = 600.0) -> bool:
    """Until the app's background work is done: its outbox holds nothing queued (the bot's /healthz says so) and
    the fake Slack heard nothing new (no call, no answer to a response_url) for `settle` seconds. False when
    `limit` passed first."""
    deadline = time.monotonic() + limit
    last_change = time.monotonic()
    answered = -1
    while time.monotonic() < deadline:
        responses = (await fake.state())["responses"]  # answers to response_url count as hearing something
        if await fake.read_calls() or responses != answered:
            last_change, answered = time.monotonic(), responses
        # (the outbox's figures are shown to a signed page link or a session only: /healthz gives strangers states)
        async with fake.session.get(app.url + "/healthz", params=_HEALTH_LINK) as response:
            queued = ((await response.json()).get("outbox") or {}).get("queued", 0)
        if queued:
            last_change = time.monotonic()
        elif time.monotonic() - last_change >= settle:
            return True
        await asyncio.sleep(0.2)
    return False
