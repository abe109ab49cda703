"""`python -m bot` as a new user runs it: a real process, configured only through the environment."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bench.processes import free_port
from bot.http.tokens import page_token
from tests.conftest import SECRET, TOKEN
from tests.fake_slack import new_trigger_id
from tests.slack_requests import SlackSender

ROOT = Path(__file__).resolve().parents[1]


def bot_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    env.update(values)
    return env


async def wait_healthy(url: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            if process.returncode is not None:
                raise AssertionError(f"the bot exited with {process.returncode}")
            try:
                async with session.get(url + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("the bot did not become healthy")


async def test_python_m_bot_serves_slack_and_health(tmp_path, fake_slack):
    port = free_port()
    env = bot_env(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake_slack.api_url,
                  DATABASE_URL=f"sqlite:///{tmp_path / 'ff.db'}", HOST="127.0.0.1", PORT=str(port),
                  INCIDENTS_CHANNEL="#incidents")
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=tmp_path, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    sender = SlackSender(url, SECRET, fake_slack.response_url())
    try:
        await wait_healthy(url, process)
        status, _, _ = await sender.command("declare Checkout is down")
        assert status == 200
        await fake_slack.wait_for("views.open")
        view = list(fake_slack.views.values())[-1]
        status, body, _ = await sender.submit(view, {"priority": "P0"})
        assert (status, body) == (200, "")
        created = await fake_slack.wait_for("conversations.create")
        assert created[0]["name"] == "inc-1-checkout-is-down"
        await fake_slack.wait_for("chat.postEphemeral")
        await fake_slack.wait_for("chat.postMessage", 2)  # the summary, then the announcement
        announcement = [p for p in fake_slack.calls_to("chat.postMessage") if p["channel"] == "#incidents"]
        assert announcement and "INC-1" in announcement[0]["text"]
        status, _, _ = await sender.post(sender.command_body("list"), "application/x-www-form-urlencoded",
                                         timestamp=1531420618)
        assert status == 401
    finally:
        await sender.close()
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 15)
    assert (tmp_path / "ff.db").exists()


async def test_socket_mode_when_an_app_token_is_set(tmp_path, fake_slack):
    port = free_port()
    env = bot_env(SLACK_BOT_TOKEN=TOKEN, SLACK_APP_TOKEN="xapp-test", SLACK_API_URL=fake_slack.api_url,
                  DATABASE_URL=f"sqlite:///{tmp_path / 'ff.db'}", HOST="127.0.0.1", PORT=str(port))
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=tmp_path, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", process)  # /healthz is served in Socket Mode too
        command = {"command": "/incident", "text": "help", "user_id": "U0REPORTER", "channel_id": "C0GENERAL",
                   "team_id": "T111", "trigger_id": "1.2.3", "response_url": fake_slack.response_url()}
        ack = await fake_slack.socket_send("slash_commands", command)
        assert "/incident declare" in json.dumps(ack.get("payload"))
        await fake_slack.socket_send("slash_commands", {**command, "text": "declare Disk full",
                                                        "trigger_id": new_trigger_id(2)})
        view = (await fake_slack.wait_for("views.open"))[0]["view"]
        opened = next(c for c in fake_slack.calls if c.method == "views.open")
        assert opened.answer["ok"], opened.answer  # a fresh trigger id: Slack takes "1.2.3" for none
        assert view["blocks"][0]["element"]["initial_value"] == "Disk full"
        # Nothing over HTTP claims to be Slack in Socket Mode: an unsigned roster change finds no door.
        forged = {"command": "/incident", "text": "rotation create pwned <#C0INCIDENTS|incidents>",
                  "user_id": "U0EVIL", "channel_id": "C0GENERAL", "trigger_id": "9.9.9"}
        async with aiohttp.ClientSession() as session, session.post(f"http://127.0.0.1:{port}/slack/events",
                                                                    data=forged) as response:
            assert response.status == 404
        listing = await fake_slack.socket_send("slash_commands", {**command, "text": "rotation list"})
        assert "pwned" not in json.dumps(listing.get("payload"))
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 15)
    assert fake_slack.calls_to("apps.connections.open")


async def test_socket_mode_serves_healthz_while_slack_cannot_be_reached(tmp_path, fake_slack):
    """The port opens and /healthz answers before the websocket is up: 503 with "socket": "connecting" and why,
    while Slack refuses; once Slack answers again the bot connects by itself and /healthz says 200 "connected"."""
    fake_slack.fail("apps.connections.open", "internal_error", times=1000)
    port = free_port()
    env = bot_env(SLACK_BOT_TOKEN=TOKEN, SLACK_APP_TOKEN="xapp-test", SLACK_API_URL=fake_slack.api_url,
                  DATABASE_URL=f"sqlite:///{tmp_path / 'ff.db'}", HOST="127.0.0.1", PORT=str(port),
                  WEB_SECRET="process-web-secret")
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=tmp_path, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    # the details (the socket's last error) need the board's signed link; strangers see the state only
    url = f"http://127.0.0.1:{port}/healthz?token={page_token('process-web-secret', datetime.now(UTC))}"

    async def health(until) -> tuple[int, dict]:
        answer: tuple[int, dict] | None = None
        deadline = asyncio.get_running_loop().time() + 15
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while asyncio.get_running_loop().time() < deadline:
                assert process.returncode is None, "the bot exited"
                try:
                    async with session.get(url) as response:
                        answer = response.status, await response.json()
                        if until(*answer):
                            return answer
                except (aiohttp.ClientConnectionError, TimeoutError):  # not serving yet
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError(f"/healthz never answered as wanted within 15 s (last: {answer})")

    try:
        status, body = await health(lambda status, body: body.get("socket_attempts", 0) >= 1)
        assert status == 503
        assert (body["ok"], body["database"], body["socket"]) == (False, "ok", "connecting")
        assert body["socket_error"] == "apps.connections.open: internal_error"
        async with aiohttp.ClientSession() as session, session.get(url.partition("?")[0]) as response:
            public = await response.json()
        assert (response.status, public["socket"], "socket_error" in public) == (503, "connecting", False), public
        assert not fake_slack.sockets
        fake_slack.recover("apps.connections.open")
        status, body = await health(lambda status, body: status == 200)
        assert (body["ok"], body["socket"]) == (True, "connected") and "socket_error" not in body
        command = {"command": "/incident", "text": "help", "user_id": "U0REPORTER", "channel_id": "C0GENERAL",
                   "team_id": "T111", "trigger_id": "1.2.3", "response_url": fake_slack.response_url()}
        ack = await fake_slack.socket_send("slash_commands", command)
        assert "/incident declare" in json.dumps(ack.get("payload"))
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 15)
    logged = stderr.decode()
    assert "Socket Mode: cannot connect to Slack (apps.connections.open: internal_error); trying again in 1 s" \
        in logged
    assert "Traceback" not in logged


@pytest.mark.parametrize(("env", "line"), [
    ({}, "firefighter: setting SLACK_BOT_TOKEN is required"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "P0_UPDATE_INTERVAL": "soon"},
     "firefighter: setting P0_UPDATE_INTERVAL: 'soon' is not a duration"),
])
async def test_a_bad_setting_stops_start_up_with_one_line(tmp_path, env, line):
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=tmp_path, env=bot_env(**env),
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(line)
