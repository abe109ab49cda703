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


# -- Issue 32: what Slack refuses, the fake refuses (each rule cites Slack's documentation in tests/fake_slack.py) --

def _options(n: int, prefix: str = "o") -> list[dict]:
    return [{"text": {"type": "plain_text", "text": f"{prefix}{i}"}, "value": f"{prefix}{i}"} for i in range(n)]


def _input(element: dict) -> list[dict]:
    return [{"type": "input", "block_id": "b", "label": {"type": "plain_text", "text": "l"},
             "element": {"action_id": "a", **element}}]


@pytest.mark.parametrize(("kind", "fits", "too_many", "too_few"), [
    ("checkboxes", 10, 11, 0), ("radio_buttons", 10, 11, 0), ("overflow", 5, 6, 1), ("static_select", 100, 101, 0)])
def test_each_element_takes_as_many_options_as_slack_allows(kind, fits, too_many, too_few):
    def blocks(n):
        element = {"type": kind, "options": _options(n)}
        if kind == "overflow":  # an overflow menu lives in a section or an actions block, not an input
            return [{"type": "actions", "elements": [{"action_id": "a", **element}]}]
        return _input(element)
    validate_blocks(blocks(fits), 50)
    for wrong in (too_many, too_few):
        with pytest.raises(BlockKitError, match="options"):
            validate_blocks(blocks(wrong), 50)
    if kind == "overflow":
        validate_blocks(blocks(2), 50)


@pytest.mark.parametrize("kind", ["checkboxes", "radio_buttons", "static_select"])
def test_initial_options_must_equal_one_of_the_options_whole(kind):
    options = _options(3)
    key = "initial_options" if kind == "checkboxes" else "initial_option"

    def with_initial(option: dict) -> list[dict]:
        return _input({"type": kind, "options": options, key: [option] if kind == "checkboxes" else option})
    validate_blocks(with_initial(dict(options[1])), 50)
    same_with_emoji = {**options[1], "text": {**options[1]["text"], "emoji": True}}  # Slack's default, spelt out
    validate_blocks(with_initial(same_with_emoji), 50)
    for wrong in ({**options[1], "text": {"type": "plain_text", "text": "another label"}},  # same value, other text
                  {"text": {"type": "plain_text", "text": "o9"}, "value": "o9"},  # not among the options
                  {**options[1], "description": {"type": "plain_text", "text": "d"}}):
        with pytest.raises(BlockKitError, match="exactly match"):
            validate_blocks(with_initial(wrong), 50)


def _modal() -> dict:
    return {"type": "modal", "title": {"type": "plain_text", "text": "t"}, "blocks": []}


async def test_a_trigger_id_opens_one_view_within_three_seconds(fake_slack):
    from tests.fake_slack import new_trigger_id
    trigger = new_trigger_id(1)
    assert (await call(fake_slack, "views.open", trigger_id=trigger, view=_modal()))[1]["ok"]
    _, again, _ = await call(fake_slack, "views.open", trigger_id=trigger, view=_modal())
    assert again == {"ok": False, "error": "exchanged_trigger_id"}
    fake_slack.trigger_lifetime = 0.05
    late = new_trigger_id(2)
    await asyncio.sleep(0.1)  # real time: Slack's trigger ids expire in real time, whatever the bot's clock says
    assert (await call(fake_slack, "views.open", trigger_id=late, view=_modal()))[1] == {
        "ok": False, "error": "expired_trigger_id"}
    for made_up in ("1.2.3-x", "trigger", "", "1.2", "a.b.c"):
        _, body, _ = await call(fake_slack, "views.open", trigger_id=made_up, view=_modal())
        assert body["error"] in ("invalid_trigger_id", "missing_argument:trigger_id"), (made_up, body)
    # A view Slack refused does not use the trigger up.
    fresh = new_trigger_id(3)
    fake_slack.trigger_lifetime = 3.0
    assert (await call(fake_slack, "views.open", trigger_id=fresh, view={"type": "modal"}))[1]["ok"] is False
    assert (await call(fake_slack, "views.open", trigger_id=fresh, view=_modal()))[1]["ok"]


async def test_run_for_the_benchmark_it_keeps_only_what_its_brief_record_shows(fake_slack):
    """`--brief`: a burst of 4,000 forms kept whole held 400 MB in the fake and slowed it more than the bot."""
    from tests.fake_slack import _brief, new_trigger_id
    fake_slack.brief_record = True
    view = _modal()
    _, opened, _ = await call(fake_slack, "views.open", trigger_id=new_trigger_id(1), view=view)
    assert opened["ok"] and opened["view"]["blocks"] == view["blocks"]  # the answer is whole, as Slack's
    view_id, view_hash = opened["view"]["id"], opened["view"]["hash"]
    assert "blocks" not in fake_slack.views[view_id] and fake_slack.calls[-1].answer == {"ok": True}
    _, updated, _ = await call(fake_slack, "views.update", view_id=view_id, hash=view_hash, view=view)
    assert updated["ok"]  # its id and hash are still known
    _, stale, _ = await call(fake_slack, "views.update", view_id=view_id, hash=view_hash, view=view)
    assert stale["error"] == "hash_conflict"
    await call(fake_slack, "chat.postMessage", channel="C0GENERAL", text="x" * 400,
               metadata={"event_type": "incident", "event_payload": {"n": 1}}, blocks=[
                   {"type": "section", "text": {"type": "mrkdwn", "text": "long"}}])
    posted = fake_slack.calls[-1]
    assert set(posted.args) == {"channel", "text", "metadata"} and len(posted.args["text"]) == 300
    assert _brief(posted)["event_type"] == "incident" and _brief(posted)["channel"] == "C0GENERAL"
    posted_ts = max(ts for _, ts in fake_slack.messages)
    stored = fake_slack.messages[("C0GENERAL", posted_ts)]
    assert stored["blocks"] is None and len(stored["text"]) == 300 and stored["metadata"]["event_type"] == "incident"
    _, edited, _ = await call(fake_slack, "chat.update", channel="C0GENERAL", ts=posted_ts, text="y" * 400,
                              blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "edited"}}])
    assert edited["ok"] and fake_slack.messages[("C0GENERAL", posted_ts)]["blocks"] is None
    assert fake_slack.messages[("C0GENERAL", posted_ts)]["text"] == "y" * 300  # what `state` shows the benchmark


async def _respond(fake, key: str, **body) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.post(fake.response_url(key), json=body) as response:
        return response.status, await response.text()


async def test_a_response_url_takes_five_posts_of_valid_messages(fake_slack):
    for n in range(5):
        assert await _respond(fake_slack, "r1", text=f"answer {n}") == (200, "ok")
    assert await _respond(fake_slack, "r1", text="a sixth") == (404, "used_url")
    assert await _respond(fake_slack, "r2", text="another request's url") == (200, "ok")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "fine"}}]
    assert await _respond(fake_slack, "r3", text="x", blocks=blocks) == (200, "ok")  # Block Kit is allowed ...
    assert await _respond(fake_slack, "r4", text="x", blocks=[{"type": "divider"}] * 51) == (400, "invalid_blocks")
    bad_options = _input({"type": "checkboxes", "options": _options(11)})  # ... held to the limits of a message
    assert await _respond(fake_slack, "r5", text="x", blocks=bad_options) == (400, "invalid_blocks")
    assert await _respond(fake_slack, "r6", response_type="ephemeral") == (400, "no_text")
    assert [r["text"] for r in fake_slack.responses] == [*(f"answer {n}" for n in range(5)),
                                                        "another request's url", "x"]
    assert [(r["key"], r["error"]) for r in fake_slack.refused_responses] == [
        ("r1", "used_url"), ("r4", "invalid_blocks"), ("r5", "invalid_blocks"), ("r6", "no_text")]


async def test_message_metadata_comes_back_only_when_asked_for(fake_slack):
    metadata = {"event_type": "firefighter_incident_summary", "event_payload": {"incident": 7}}
    _, posted, _ = await call(fake_slack, "chat.postMessage", channel="C0GENERAL", text="s", metadata=metadata)
    await call(fake_slack, "chat.postMessage", channel="C0GENERAL", text="r", thread_ts=posted["ts"], metadata=metadata)
    for method, extra in (("conversations.history", {}), ("conversations.replies", {"ts": posted["ts"]})):
        _, plain, _ = await call(fake_slack, method, channel="C0GENERAL", **extra)
        assert plain["messages"] and all("metadata" not in m for m in plain["messages"]), method
        _, full, _ = await call(fake_slack, method, channel="C0GENERAL", include_all_metadata=True, **extra)
        assert all(m["metadata"] == metadata for m in full["messages"]), method
    async with aiohttp.ClientSession() as session, session.post(  # as slack-sdk sends it: a form field "1"
            fake_slack.api_url + "conversations.history", data={"channel": "C0GENERAL", "include_all_metadata": "1"},
            headers={"Authorization": "Bearer xoxb-t"}) as response:
        assert all(m["metadata"] == metadata for m in (await response.json())["messages"])


async def test_inviting_someone_already_in_the_channel(fake_slack):
    fake_slack.add_channel("C0INC", "inc-1")
    assert (await call(fake_slack, "conversations.invite", channel="C0INC", users="U0REPORTER"))[1]["ok"]
    _, again, _ = await call(fake_slack, "conversations.invite", channel="C0INC", users="U0REPORTER")
    assert again == {"ok": False, "error": "already_in_channel",
                     "errors": [{"user": "U0REPORTER", "ok": False, "error": "already_in_channel"}]}
    # Several at once, one already in: refused whole, nobody invited ...
    _, mixed, _ = await call(fake_slack, "conversations.invite", channel="C0INC", users="U0OTHER,U0REPORTER")
    assert mixed["error"] == "already_in_channel" and fake_slack.channels["C0INC"]["members"] == {"U0REPORTER"}
    # ... unless `force`: the others are invited, the one already in is named.
    _, forced, _ = await call(fake_slack, "conversations.invite", channel="C0INC", users="U0OTHER,U0REPORTER",
                              force=True)
    assert forced["ok"] and forced["errors"] == [{"user": "U0REPORTER", "ok": False, "error": "already_in_channel"}]
    assert fake_slack.channels["C0INC"]["members"] == {"U0REPORTER", "U0OTHER"}


async def test_an_ephemeral_reaches_only_someone_in_the_channel(fake_slack):
    # Everyone is in #general (a person added later too); another channel holds only whoever was invited.
    fake_slack.add_user("U0LATER")
    for user in ("U0REPORTER", "U0LATER"):
        assert (await call(fake_slack, "chat.postEphemeral", channel="C0GENERAL", user=user, text="hi"))[1]["ok"]
    fake_slack.add_channel("C0INC", "inc-1")
    _, body, _ = await call(fake_slack, "chat.postEphemeral", channel="C0INC", user="U0REPORTER", text="hi")
    assert body == {"ok": False, "error": "user_not_in_channel"}
    await call(fake_slack, "conversations.invite", channel="C0INC", users="U0REPORTER")
    assert (await call(fake_slack, "chat.postEphemeral", channel="C0INC", user="U0REPORTER", text="hi"))[1]["ok"]
    fake_slack.add_channel("C0ELSEWHERE", "elsewhere", joined=False)  # and the bot must be in it too
    fake_slack.channels["C0ELSEWHERE"]["members"].add("U0REPORTER")
    assert (await call(fake_slack, "chat.postEphemeral", channel="C0ELSEWHERE", user="U0REPORTER", text="hi"))[1][
        "error"] == "not_in_channel"
