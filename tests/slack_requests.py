"""Signed requests in the shapes Slack sends (see tests/payloads/), posted to the running bot over HTTP."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

from bot.listeners.commands import answered_after_ack
from tests.fake_slack import new_trigger_id

PAYLOADS = Path(__file__).parent / "payloads"


def sample(name: str) -> dict:
    return json.loads((PAYLOADS / name).read_text())


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


class SlackSender:
    """Posts to /slack/events like Slack does: form bodies for commands and interactions, JSON for events."""

    def __init__(self, base_url: str, secret: str, response_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.response_url = response_url
        self.session = aiohttp.ClientSession()
        self.trigger = 0

    async def close(self) -> None:
        await self.session.close()

    async def post(self, body: str, content_type: str, *, timestamp: int | None = None,
                   signature: str | None = None, extra_headers: dict | None = None) -> tuple[int, str, float]:
        headers = {"Content-Type": content_type, **sign(self.secret, body, timestamp), **(extra_headers or {})}
        if signature is not None:
            headers["X-Slack-Signature"] = signature
        started = time.monotonic()
        async with self.session.post(f"{self.base_url}/slack/events", data=body.encode(), headers=headers) as resp:
            text = await resp.text()
            return resp.status, text, time.monotonic() - started

    def _trigger_id(self) -> str:
        """A new trigger id, as Slack gives each request (the fake lets it be exchanged once, within 3 s)."""
        self.trigger += 1
        return new_trigger_id(self.trigger)

    def _response_url(self) -> str:
        """The response_url of the request just given a trigger id: Slack gives each request its own (usable five
        times), so `response_url` is the base and each request gets `<base>-<n>`."""
        return f"{self.response_url}-{self.trigger}"

    def command_body(self, text: str, *, user: str = "U0REPORTER", channel: str = "C0GENERAL",
                     command: str = "/incident", channel_name: str = "general", user_name: str | None = None,
                     response_url: str | None = None) -> str:
        fields = sample("slash_command_fields.json")
        trigger_id = self._trigger_id()
        fields.update(command=command, text=text, user_id=user, user_name=user_name or user.lower(),
                      channel_id=channel, channel_name=channel_name, response_url=response_url or self._response_url(),
                      trigger_id=trigger_id)
        return urlencode(fields)

    async def command(self, text: str, **kwargs) -> tuple[int, str, float]:
        """The answer as Slack shows it: the ack's body, or for a reading command (answered after its ack) what
        the bot posted to this command's own response_url, as JSON like an ack body."""
        later = kwargs.get("command", "/incident") == "/incident" and "response_url" not in kwargs \
            and answered_after_ack(text)
        key = f"cmd-{self.trigger + 1}-{id(self)}"
        if later:
            kwargs["response_url"] = f"{self.response_url.rsplit('/', 1)[0]}/{key}"
        status, body, elapsed = await self.post(self.command_body(text, **kwargs), "application/x-www-form-urlencoded")
        if later and status == 200 and not body:
            body = json.dumps(await self.response_to(key))
        return status, body, elapsed

    async def response_to(self, key: str, timeout: float = 15.0) -> dict:
        """The POST to `/response/<key>` at the fake Slack, waited for."""
        fake = self.response_url.split("/response/", 1)[0]
        deadline = time.monotonic() + timeout
        while True:
            async with self.session.get(f"{fake}/_responses", params={"key": key}) as resp:
                found = (await resp.json())["responses"]
            if found:
                return {k: v for k, v in found[0].items() if k != "key"}
            if time.monotonic() > deadline:
                raise AssertionError(f"no answer at the response_url {key} within {timeout} s")
            await asyncio.sleep(0.01)

    async def interaction(self, payload: dict, **kwargs) -> tuple[int, str, float]:
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded", **kwargs)

    async def submit(self, view: dict, values: dict, *, user: str = "U0REPORTER", view_id: str | None = None,
                     **kwargs) -> tuple[int, str, float]:
        payload = view_submission(view, values, user=user, view_id=view_id)
        return await self.interaction(payload, **kwargs)

    async def click(self, action_id: str, value: str, *, user: str = "U0REPORTER", channel: str = "C0GENERAL",
                    block_id: str = "incident_actions", view: dict | None = None) -> tuple[int, str, float]:
        return await self.post(self.click_body(action_id, value, user=user, channel=channel, block_id=block_id,
                                               view=view), "application/x-www-form-urlencoded")

    def click_body(self, action_id: str, value: str, *, user: str = "U0REPORTER", channel: str = "C0GENERAL",
                   block_id: str = "incident_actions", view: dict | None = None, message_ts: str = "1.2",
                   label: str = "x", user_name: str | None = None, response_url: str | None = None) -> str:
        """A button clicked on a message (`message_ts` in `channel`), or on a view (`view`)."""
        payload = copy.deepcopy(sample("block_actions_payload.json"))
        name = user_name or user.lower()
        payload["user"] = {"id": user, "username": name, "name": name, "team_id": "T111"}
        payload["trigger_id"] = self._trigger_id()
        payload["response_url"] = response_url or self._response_url()
        payload["channel"] = {"id": channel, "name": "incident"}
        payload["container"] = {"type": "message", "message_ts": message_ts, "channel_id": channel}
        payload["actions"] = [{"action_id": action_id, "block_id": block_id, "value": value, "type": "button",
                               "action_ts": "1.3", "text": {"type": "plain_text", "text": label}}]
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view["id"]}
            payload["view"] = view
            payload.pop("channel")
        return urlencode({"payload": json.dumps(payload)})

    async def suggest(self, view: dict, block_id: str, action_id: str, typed: str, *,
                      user: str = "U0REPORTER") -> tuple[int, str, float]:
        """Someone typing `typed` in an external select of an open view (Slack's block_suggestion payload, sent
        to the manifest's message_menu_options_url: api.slack.com/reference/interaction-payloads/block_suggestion)."""
        payload = {"type": "block_suggestion", "token": "legacy-token", "api_app_id": "A0FAKE",
                   "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T111"},
                   "team": {"id": "T111", "domain": "example"},
                   "container": {"type": "view", "view_id": view.get("id") or "V0SUGGEST"},
                   "action_id": action_id, "block_id": block_id, "value": typed, "view": view}
        return await self.interaction(payload)

    async def event(self, event: dict, *, extra_headers: dict | None = None) -> tuple[int, str, float]:
        envelope = sample("event_callback_app_mention.json")
        envelope["event"] = event
        envelope["event_id"] = f"Ev{self._trigger_id().replace('.', '')}"
        return await self.post(json.dumps(envelope), "application/json", extra_headers=extra_headers)


def state_values(view: dict, answers: dict[str, object]) -> dict:
    """Build `view.state.values` for a view the bot opened: {block_id: answer} in the element's own shape."""
    values: dict = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        block_id, action_id, kind = block["block_id"], element["action_id"], element["type"]
        answer = answers.get(block_id, initial_value(element))
        state: dict = {"type": kind}
        if kind == "plain_text_input":
            state["value"] = answer
        elif kind in ("static_select", "radio_buttons"):
            match = next((o for o in element["options"] if o["value"] == answer), None)
            state["selected_option"] = match
        elif kind == "external_select":  # what the bot offered when asked (`suggest`); only the value is read
            initial = element.get("initial_option")
            state["selected_option"] = initial if initial and initial["value"] == answer else \
                None if answer is None else {"text": {"type": "plain_text", "text": str(answer)}, "value": answer}
        elif kind in ("checkboxes", "multi_static_select"):
            state["selected_options"] = [o for o in element["options"] if o["value"] in (answer or [])]
        elif kind == "users_select":
            state["selected_user"] = answer
        values[block_id] = {action_id: state}
    return values


def initial_value(element: dict):
    """What an input shows before anyone types (the demo shows the same)."""
    kind = element["type"]
    if kind == "plain_text_input":
        return element.get("initial_value")
    if kind in ("static_select", "radio_buttons", "external_select"):
        return (element.get("initial_option") or {}).get("value")
    if kind == "checkboxes":
        return [o["value"] for o in element.get("initial_options") or []]
    if kind == "users_select":
        return element.get("initial_user")
    return None


def view_submission(view: dict, answers: dict, *, user: str = "U0REPORTER", view_id: str | None = None,
                    user_name: str | None = None) -> dict:
    payload = copy.deepcopy(sample("view_submission_payload.json"))
    name = user_name or user.lower()
    payload["user"] = {"id": user, "username": name, "name": name, "team_id": "T111"}
    submitted = copy.deepcopy(view)
    submitted["id"] = view_id or view.get("id") or "V0SUBMIT"
    submitted["state"] = {"values": state_values(view, answers)}
    submitted.setdefault("hash", "1.hash")
    payload["view"] = submitted
    return payload
