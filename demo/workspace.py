"""The demo's workshop: the two processes (fake Slack, bot), bob's phone (`demo.phone`, a push receiver in this
process) and the people of a small workspace acting in it.

Each thing a person does is a signed request to the bot's `/slack/events`, in the shape Slack sends it
(`tests/slack_requests.py`); what the bot says back comes from the fake Slack's record (`GET /_calls?full=1`,
`GET /_responses`); what reached bob beyond Slack, from his phone. `Transcript` holds it all, in order, for
`demo.render`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

from bench.processes import free_port
from bot.config import Settings
from demo.phone import Phone, PhoneEvent
from tests.slack_requests import SlackSender, view_submission

ROOT = Path(__file__).resolve().parents[1]
SECRET = "demo-signing-secret"
TOKEN = "xoxb-demo"
START_TIMEOUT = 30.0  # seconds for a process to answer on its port
STEP_TIMEOUT = 15.0  # seconds for what one step makes the bot do

PEOPLE = {"U0ALICE": "alice", "U0BOB": "bob", "U0CAROL": "carol"}
CHANNELS = {"C0GENERAL": "general", "C0INCIDENTS": "incidents", "C0PAYMENTS": "payments-firefighters"}


class DemoError(RuntimeError):
    """The demo could not go on; the message says where."""


@dataclass
class Entry:
    """Something a person did, or the bot answered directly (not through the Web API), placed among the Web API
    calls: before call number `seq` (the count of calls when it happened)."""

    seq: int
    kind: str  # typed | form | clicked | answer | aside (done outside Slack)
    channel: str
    user: str
    text: str = ""
    blocks: list | None = None
    view: dict | None = None  # form: the view as the bot opened it
    answers: dict | None = None  # form: {block_id: answer}
    ephemeral: bool = True  # answer: only the person sees it


@dataclass
class Transcript:
    people: dict[str, str]
    channels: dict[str, str]  # every channel the fake knows, created ones too: id -> name
    entries: list[Entry]
    calls: list[dict]  # the fake's record, whole: {method, args, answer, ...}
    responses: dict[str, list[dict]]  # response_url posts by the entry they answer ("<seq>.<n>")
    board: str | None = None
    board_status: int | None = None
    phone: list[PhoneEvent] = field(default_factory=list)  # bob's phone: pushes, and the link opened and pressed


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    url: str
    log: Path


@dataclass
class Demo:
    """The two processes, bob's phone and what the people did; `stop()` ends all three, whatever happened before."""

    workdir: Path
    phone: Phone = field(default_factory=Phone)
    children: list[Child] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    session: aiohttp.ClientSession | None = None
    sender: SlackSender | None = None
    progress: Callable[[str], None] = lambda line: None
    _known: int = 0

    @property
    def fake(self) -> Child:
        return self.children[0]

    @property
    def bot(self) -> Child:
        return self.children[1]

    # -- processes ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        fake_port, bot_port = free_port(), free_port()
        await self.phone.start()
        self.progress(f"bob's phone (a push receiver in the shape of ntfy) listens at {self.phone.url}")
        await self._spawn("fake Slack", ["-m", "tests.fake_slack", "--port", str(fake_port), "--quiet"],
                          _environment(), ROOT, f"http://127.0.0.1:{fake_port}", "/_state")
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=STEP_TIMEOUT))
        await self._post("/_setup", {"channels": [[cid, name, list(PEOPLE)] for cid, name in CHANNELS.items()],
                                     "users": [[uid, name] for uid, name in PEOPLE.items()]})
        bot_url = f"http://127.0.0.1:{bot_port}"
        env = _environment(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET,
                           SLACK_API_URL=f"{self.fake.url}/api/",
                           DATABASE_URL=f"sqlite:///{self.workdir / 'firefighter.db'}", HOST="127.0.0.1",
                           PORT=str(bot_port), PUBLIC_URL=bot_url, INCIDENTS_CHANNEL="C0INCIDENTS",
                           SCHEDULER_TICK="1s", LOG_LEVEL="WARNING", NOTIFY_PUSH_URL=self.phone.apprise_url)
        await self._spawn("bot", ["-m", "bot"], env, self.workdir, bot_url, "/healthz")
        self.sender = SlackSender(bot_url, SECRET, f"{self.fake.url}/response/demo")

    async def _spawn(self, name: str, args: list[str], env: dict[str, str], cwd: Path, url: str,
                     ready: str) -> None:
        log = self.workdir / f"{name.replace(' ', '-')}.log"
        with log.open("ab") as out:
            process = await asyncio.create_subprocess_exec(sys.executable, *args, cwd=cwd, env=env, stdout=out,
                                                           stderr=out, preexec_fn=_die_with_parent)
        child = Child(name, process, url, log)
        self.children.append(child)  # from here on stop() ends it, whatever happens next
        self.progress(f"started {name} (pid {process.pid}) at {url}")
        deadline = time.monotonic() + START_TIMEOUT
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            while time.monotonic() < deadline:
                if process.returncode is not None:
                    raise DemoError(f"{name} exited with {process.returncode}: {_tail(log)}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(url + ready) as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.05)
        raise DemoError(f"{name} did not answer at {url + ready} within {START_TIMEOUT:.0f} s: {_tail(log)}")

    async def stop(self) -> None:
        """Ends every process this demo started (SIGTERM, then SIGKILL after 5 s) and waits for it."""
        if self.sender is not None:
            await self.sender.close()
        if self.session is not None:
            await self.session.close()
        for child in reversed(self.children):
            await _end(child.process)
        await self.phone.stop()

    # -- the fake Slack's record ---------------------------------------------------------------------

    async def _get(self, path: str, **params: str) -> dict:
        assert self.session is not None
        async with self.session.get(self.fake.url + path, params=params) as response:
            return await response.json()

    async def _post(self, path: str, body: dict) -> None:
        assert self.session is not None
        async with self.session.post(self.fake.url + path, json=body) as response:
            response.raise_for_status()

    async def calls(self) -> list[dict]:
        return (await self._get("/_calls", full="1"))["calls"]

    async def settle(self, until: Callable[[list[dict]], bool] = lambda calls: True, quiet: float = 0.4) -> list[dict]:
        """Waits until `until(calls)` holds, the bot owes Slack nothing (no queued deliveries on its /metrics) and
        no new call came for `quiet` seconds. Returns the calls so far."""
        assert self.session is not None
        deadline = time.monotonic() + STEP_TIMEOUT
        seen, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            calls = await self.calls()
            async with self.session.get(self.bot.url + "/metrics") as response:
                queued = sum(float(line.rpartition(" ")[2]) for line in (await response.text()).splitlines()
                             if line.startswith('firefighter_deliveries{state="queued"'))
            if len(calls) != seen or queued:
                seen, since = len(calls), time.monotonic()
            elif until(calls) and time.monotonic() - since >= quiet:
                return calls
            await asyncio.sleep(0.05)
        raise DemoError(f"the bot did not finish within {STEP_TIMEOUT:.0f} s; Slack calls so far: "
                        f"{[c['method'] for c in await self.calls()]}")

    # -- what people do ----------------------------------------------------------------------------

    async def _seq(self) -> int:
        """How many Web API calls the bot has made so far."""
        self._known = (await self._get("/_calls", since=str(self._known)))["next"]
        return self._known

    def _response_url(self, seq: int) -> str:
        """Where the bot answers the next entry later (`respond()`): named after it, `<seq>.<index>`."""
        return f"{self.fake.url}/response/{seq}.{len(self.entries)}"

    async def type(self, user: str, channel: str, text: str) -> None:
        """`user` types `/incident <text>` in `channel`; the ack's answer (if any) is shown to them alone."""
        assert self.sender is not None
        seq = await self._seq()
        body = self.sender.command_body(text, user=user, channel=channel, channel_name=CHANNELS.get(channel, ""),
                                        user_name=PEOPLE[user], response_url=self._response_url(seq))
        self.entries.append(Entry(seq, "typed", channel, user, f"/incident {text}".rstrip()))
        status, answer, _ = await self.sender.post(body, "application/x-www-form-urlencoded")
        self._answered(seq, channel, user, status, answer)

    async def submit(self, user: str, channel: str, opened: dict, answers: dict) -> None:
        """`user` fills in the form the bot opened (a `views.open` call) with `answers` and presses its button."""
        assert self.sender is not None
        view = {**opened["args"]["view"], "id": opened["answer"]["view"]["id"]}
        seq = await self._seq()
        self.entries.append(Entry(seq, "form", channel, user, view=view, answers=answers))
        payload = view_submission(view, answers, user=user, user_name=PEOPLE[user])
        status, answer, _ = await self.sender.post(urlencode({"payload": json.dumps(payload)}),
                                                   "application/x-www-form-urlencoded")
        if status != 200 or answer:  # a form the bot refused stays open with its errors: the story cannot go on
            raise DemoError(f"the form {view.get('callback_id')} was refused: {status} {answer}")

    async def click(self, user: str, message: dict, action_id: str) -> None:
        """`user` presses the button `action_id` on `message` (a `chat.postMessage` call the bot made)."""
        assert self.sender is not None
        channel, ts = message["answer"]["channel"], message["answer"]["ts"]
        block, button = _button(message["args"].get("blocks") or [], action_id)
        seq = await self._seq()
        label = button["text"]["text"]
        body = self.sender.click_body(action_id, button.get("value", ""), user=user, channel=channel,
                                      block_id=block.get("block_id", ""), message_ts=ts, label=label,
                                      user_name=PEOPLE[user], response_url=self._response_url(seq))
        self.entries.append(Entry(seq, "clicked", channel, user, label))
        status, answer, _ = await self.sender.post(body, "application/x-www-form-urlencoded")
        self._answered(seq, channel, user, status, answer)

    async def aside(self, user: str, channel: str, text: str) -> None:
        """Shows in `channel`, at this point among the messages, what `user` did outside Slack."""
        self.entries.append(Entry(await self._seq(), "aside", channel, user, text))

    def _answered(self, seq: int, channel: str, user: str, status: int, answer: str) -> None:
        if status != 200:
            raise DemoError(f"the bot answered {status}: {answer[:300]}")
        if not answer:
            return
        try:  # Bolt answers an ack with text alone as plain text, one with blocks as JSON
            body = json.loads(answer)
        except ValueError:
            body = {"text": answer}
        if not isinstance(body, dict):
            body = {"text": answer}
        if body.get("text") or body.get("blocks"):
            self.entries.append(Entry(seq, "answer", channel, user, body.get("text") or "", body.get("blocks"),
                                      ephemeral=body.get("response_type") != "in_channel"))

    async def transcript(self) -> Transcript:
        calls = await self.calls()
        responses: dict[str, list[dict]] = {}
        for response in (await self._get("/_responses"))["responses"]:
            responses.setdefault(response["key"], []).append(response)
        state = await self._get("/_state")
        return Transcript(people=dict(PEOPLE), channels=state["channels"], entries=list(self.entries), calls=calls,
                          responses=responses, phone=list(self.phone.events))


Play = Callable[[Demo], Awaitable[None]]


async def run(play: Play, *, progress: Callable[[str], None] = lambda line: None,
              keep: Callable[[Demo, Transcript], Awaitable[None]] | None = None) -> Transcript:
    """Starts both processes (and bob's phone) in a temporary folder, plays `play`, and returns what happened. All
    are ended before this returns or raises (an error, a cancellation, Ctrl-C); `keep` runs before that, with all
    still up."""
    with tempfile.TemporaryDirectory(prefix="firefighter-demo-") as folder:
        demo = Demo(Path(folder), progress=progress)
        try:
            await demo.start()
            await play(demo)
            transcript = await demo.transcript()
            transcript.board, transcript.board_status = await _board(demo, transcript)
            if keep is not None:
                await keep(demo, transcript)
            return transcript
        finally:
            await asyncio.shield(demo.stop())


async def _board(demo: Demo, transcript: Transcript) -> tuple[str | None, int | None]:
    """The board link the bot handed out (the last `/incident board` answer), and what it answered then."""
    import re

    link = None
    for entry in transcript.entries:
        found = re.search(r"<(http[^|>]+/board[^|>]*)(?:\|[^>]*)?>", entry.text) if entry.kind == "answer" else None
        link = found.group(1) if found else link
    if link is None:
        return None, None
    assert demo.session is not None
    async with demo.session.get(link) as response:
        return link, response.status


def _button(blocks: list[dict], action_id: str) -> tuple[dict, dict]:
    for block in blocks:
        for element in [*(block.get("elements") or []), block.get("accessory") or {}]:
            if element.get("action_id") == action_id:
                return block, element
    raise DemoError(f"no button {action_id} on the message")


def _environment(**values: str) -> dict[str, str]:
    """This process's environment without any of the bot's settings (they would change the story), and the
    repository on the import path (both processes import from this checkout)."""
    ours = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k not in ours and not k.startswith(("SLACK_", "DATABASE_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**env, **values}


def _die_with_parent() -> None:
    """In the child, before it runs: on Linux, SIGTERM it when the demo dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


async def _end(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
    await process.wait()


def _tail(log: Path, lines: int = 5) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:]) or "(it wrote nothing)"
    except OSError:
        return "(no log)"
