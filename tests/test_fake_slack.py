"""The fake Slack must refuse what Slack refuses, or the other tests prove nothing."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import aiohttp
import pytest

from bench.processes import free_port
from tests.fake_slack import BlockKitError, validate_blocks, validate_view


async def call(fake, method: str, token: str = "xoxb-t", **args) -> tuple[int, dict, dict]:
    async with aiohttp.ClientSession() as session, session.post(
            fake.api_url + method, json=args, headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status, await response.json(), dict(response.headers)


async def test_records_calls_in_all_three_transports(fake_slack):
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": "Bearer xoxb-t"}
        await session.post(fake_slack.api_url + "conversations.create", data={"name": "one"}, headers=headers)
        await session.post(fake_slack.api_url + "conversations.create?name=two", headers=headers)
        await session.post(fake_slack.api_url + "conversations.create", json={"name": "three"}, headers=headers)
    assert [(c.args["name"], c.transport) for c in fake_slack.calls] == [
        ("one", "form"), ("two", "query"), ("three", "json")]


async def test_name_taken_and_bad_names(fake_slack):
    assert (await call(fake_slack, "conversations.create", name="inc-1-x"))[1]["ok"]
    assert (await call(fake_slack, "conversations.create", name="inc-1-x"))[1]["error"] == "name_taken"
    assert (await call(fake_slack, "conversations.create", name="Has Spaces"))[1]["error"] == "invalid_name_specials"
    assert (await call(fake_slack, "conversations.create", name="x" * 81))[1]["error"] == "invalid_name_maxlength"


async def test_failures_rate_limits_and_auth(fake_slack):
    fake_slack.fail("chat.postMessage", "ratelimited", status=429, retry_after=7)
    status, body, headers = await call(fake_slack, "chat.postMessage", channel="C0GENERAL", text="hi")
    assert (status, body["error"], headers["Retry-After"]) == (429, "ratelimited", "7")
    status, body, _ = await call(fake_slack, "chat.postMessage", channel="C0GENERAL", text="hi")
    assert status == 200 and body["ok"]
    assert (await call(fake_slack, "chat.postMessage", channel="C404", text="x"))[1]["error"] == "channel_not_found"
    assert (await call(fake_slack, "chat.postMessage", channel="C0GENERAL"))[1]["error"] == "no_text"
    assert (await call(fake_slack, "auth.test", token="nope"))[1]["error"] == "invalid_auth"
    assert (await call(fake_slack, "no.such"))[1]["error"] == "unknown_method"
    fake_slack.fail("pins.add", "internal_error", status=500, times=2)
    assert (await call(fake_slack, "pins.add"))[0] == 500
    assert (await call(fake_slack, "pins.add"))[0] == 500
    assert (await call(fake_slack, "pins.add"))[1]["error"] == "channel_not_found"


async def test_invalid_blocks_are_refused(fake_slack):
    too_many = [{"type": "divider"}] * 51
    _, body, _ = await call(fake_slack, "chat.postMessage", channel="C0GENERAL", text="x", blocks=too_many)
    assert body == {"ok": False, "error": "invalid_blocks",
                    "response_metadata": {"messages": ["no more than 50 items allowed [json-pointer:/blocks], got 51"]}}


@pytest.mark.parametrize("blocks", [
    [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
    [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}],
    [{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}],
    [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}],
    [{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}],
    [{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b"},
                                       "action_id": f"a{i}"} for i in range(26)]}],
    [{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b" * 76}}]}],
    [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
    [{"type": "input", "label": {"type": "plain_text", "text": "l"},
      "element": {"type": "static_select", "options": [
          {"text": {"type": "plain_text", "text": "o"}, "value": str(i)} for i in range(101)]}}],
    [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "block_id": "b" * 256}],
    [{"type": "unknown"}],
])
def test_block_kit_limits(blocks):
    with pytest.raises(BlockKitError):
        validate_blocks(blocks, 50)


def test_view_limits():
    base = {"type": "modal", "title": {"type": "plain_text", "text": "ok"}, "blocks": []}
    validate_view(base)
    for bad in [{"title": {"type": "plain_text", "text": "t" * 25}}, {"private_metadata": "m" * 3001},
                {"blocks": [{"type": "divider"}] * 101}, {"type": "nope"},
                {"blocks": [{"type": "input", "label": {"type": "plain_text", "text": "l"},
                             "element": {"type": "plain_text_input"}}]}]:
        with pytest.raises(BlockKitError):
            validate_view({**base, **bad})


async def test_run_on_its_own_it_prints_each_call_whole_and_serves_them_over_http():
    """`python -m tests.fake_slack`, as a person runs it beside the bot: every call printed whole on one line
    (not cut mid-JSON), and every call, with what the fake answered, at GET /_calls?full=1."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fake_slack", "--port", str(port), cwd=Path(__file__).resolve().parents[1],
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        first = await asyncio.wait_for(process.stdout.readline(), 30)
        assert f"127.0.0.1:{port}/api/" in first.decode()
        url = f"http://127.0.0.1:{port}"
        text = "0123456789" * 500  # 5,000 characters: the printer used to stop at 2,000
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "é" * 2900}}]
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{url}/api/chat.postMessage", json={"channel": "C1", "text": text,
                                                                      "blocks": blocks},
                                    headers={"Authorization": "Bearer xoxb-t"}) as response:
                posted = await response.json()
            async with session.post(f"{url}/api/chat.postMessage", data={"channel": "C404", "text": "x"},
                                    headers={"Authorization": "Bearer xoxb-t"}):
                pass
            async with session.post(f"{url}/response/cmd", json={"text": "only you", "response_type": "ephemeral"}):
                pass
            line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
            method, _, args = line.rstrip("\n").partition(" ")
            assert method == "chat.postMessage"
            assert json.loads(args) == {"channel": "C1", "text": text, "blocks": blocks}
            async with session.get(f"{url}/_calls", params={"full": "1"}) as response:
                whole = await response.json()
            async with session.get(f"{url}/_calls", params={"since": "1"}) as response:
                brief = await response.json()
            async with session.get(f"{url}/_responses") as response:
                responses = await response.json()
        assert whole["next"] == 2
        first_call, refused = whole["calls"]
        assert first_call["method"] == "chat.postMessage" and first_call["transport"] == "json"
        assert first_call["args"] == {"channel": "C1", "text": text, "blocks": blocks}
        assert first_call["answer"]["ok"] and first_call["answer"]["ts"] == posted["ts"]
        assert refused["args"] == {"channel": "C404", "text": "x"} and refused["transport"] == "form"
        assert refused["answer"] == {"ok": False, "error": "channel_not_found"}
        assert brief["next"] == 2 and [c["channel"] for c in brief["calls"]] == ["C404"]  # the benchmark's shape
        assert responses == {"next": 1, "responses": [{"key": "cmd", "text": "only you",
                                                       "response_type": "ephemeral"}]}
    finally:
        process.kill()
        await process.wait()
