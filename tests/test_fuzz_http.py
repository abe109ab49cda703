"""Every HTTP endpoint of the running bot, fuzzed with hypothesis: `/slack/events` (slash commands, buttons, form
submissions, shortcuts, events, malformed and forged bodies), the alert endpoints, the board, the calendar feeds,
`/healthz` and `/metrics`.

For every request, whatever it carries:
- the answer is 2xx or 4xx, never 5xx, and behind a 2xx no listener or background task failed (no ERROR log from
  `bot.*`; not asked of bodies Slack never sends, only that they get no 5xx and store nothing when refused);
- a 4xx answer changed no stored row (every table is compared before and after), and a read-only page changes nothing
  whatever it answers;
- nothing the bot sent to Slack (messages, updates, ephemeral answers, forms, the Home tab, topics, response_url
  posts) nor any ack body can ping (`<!channel>`, `<!here>`, `<!everyone>`, `<!subteam^…>`) or link to a host
  other than the bot's own, Slack's, or one this file supplied as an alert URL host (`evil.example` never appears
  inside `<…>`). The one ping allowed is the bot's own `@here` at the end of an escalation chain (SPEC § Paging).

One bot per test, many examples against it (state accumulates, as in production); each test runs on SQLite and on
PostgreSQL through the `make_bot` fixture.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from datetime import timedelta
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode, urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlmodel import SQLModel
from yarl import URL

from bot.db import contact_models, edge_models, models, schedule_models  # noqa: F401  (registers every table in SQLModel.metadata)
from bot.http.tokens import page_token, person_feed_token, rotation_feed_token, sign
from bot.slack.ids import ActionId, BlockId, CallbackId
from bot.slack.text import clean_text
from tests.conftest import SECRET
from tests.slack_requests import sample
from tests.test_hostile_input import mrkdwn_texts
from tests.test_paging import with_rotation

ALERT_TOKEN = "fuzz-alert-token"
# Hosts a link may point to: the board (PUBLIC_URL defaults to localhost), Slack permalinks, and the alert URL hosts
# this file supplies. Anything else inside `<…>` was injected.
ALERT_HOSTS = ("grafana.example.com", "g.example", "gitlab.example.com", "prometheus.example.com:9090")
ALLOWED_HOSTS = frozenset({"localhost", "fake-workspace.slack.com", "test-domain.slack.com",
                           "workspace-domain.slack.com", *(h.split(":")[0] for h in ALERT_HOSTS)})
KNOWN_USERS = ("U0REPORTER", "U0COMMANDER", "U0OTHER", "U0A", "U0B", "U0C", "U0ADMIN")

SETTINGS = settings(max_examples=15, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.large_base_example])
FEW = settings(SETTINGS, max_examples=10)
ACK_DEADLINE = 2.9  # seconds; a request to /slack/events normally takes milliseconds

# -- what must never reach Slack ---------------------------------------------------------------------------------

PING = re.compile(r"<!(?:channel|here|everyone|subteam\^)")
LINK = re.compile(r"<\s*(https?://[^|>]*)", re.IGNORECASE)
# The one ping the bot sends itself: the last step of an escalation chain (SPEC § Paging), as views/paging.py words it.
OWN_HERE_TEXT = re.compile(r"^INC-\d+ needs a firefighter$")
OWN_HERE_LINE = re.compile(r"^<!here> :rotating_light: \*INC-\d+\* \(P[0-2]\) needs a firefighter: ")


def violations(text: object) -> list[str]:
    if not isinstance(text, str) or not text:
        return []
    found = [m.group(0) for m in PING.finditer(text)]
    for m in LINK.finditer(text):
        try:
            host = urlsplit(m.group(1).strip()).hostname
        except ValueError:
            host = None
        if host not in ALLOWED_HOSTS:
            found.append(m.group(0)[:120])
    return found


def _json(value):
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def strings(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [t for item in node for t in strings(item)]
    if isinstance(node, dict):
        return [t for value in node.values() for t in strings(value)]
    return []


def message_texts(args: dict, *, method: str = "") -> list[str]:
    """What Slack renders as mrkdwn from a Web API call (or a response_url post, or an ack body)."""
    blocks = _json(args.get("blocks"))
    texts = [args.get(key) for key in ("text", "topic", "purpose")]
    if method == "chat.postMessage" and OWN_HERE_TEXT.match(str(args.get("text") or "")) and blocks:
        first = blocks[0].get("text") or {}
        blocks = [{**blocks[0], "text": {**first, "text": OWN_HERE_LINE.sub("", first.get("text", ""))}},
                  *blocks[1:]]
    return [t for t in texts if isinstance(t, str)] + mrkdwn_texts(blocks) + strings(_json(args.get("attachments"))) \
        + mrkdwn_texts(_json(args.get("view")))


def ack_texts(body: str) -> list[str]:
    """An ack body: plain text (Slack shows it as an ephemeral mrkdwn message) or JSON (text, blocks, a view).
    Form `errors` are shown as plain text under the inputs, so they cannot ping."""
    if not body:
        return []
    try:
        answer = json.loads(body)
    except ValueError:
        return [body]
    return message_texts(answer) if isinstance(answer, dict) else []


# -- the stored state --------------------------------------------------------------------------------------------

def snapshot(bot) -> dict[str, list[tuple]]:
    with bot.session() as s:
        connection = s.connection()
        return {table.name: [tuple(row) for row in
                             connection.execute(sa.select(table).order_by(*table.primary_key.columns))]
                for table in SQLModel.metadata.sorted_tables}


def changes(before: dict, after: dict) -> dict[str, list]:
    diff = {}
    for name in before:
        old, new = set(before[name]), set(after[name])
        if old != new:
            diff[name] = [("-", r) for r in sorted(old - new, key=repr)][:3] + \
                         [("+", r) for r in sorted(new - old, key=repr)][:3]
    return diff


class Watch:
    """One request's before and after: stored rows, Slack calls, response_url posts, error logs."""

    def __init__(self, bot, caplog) -> None:
        self.bot, self.caplog = bot, caplog

    async def start(self) -> Watch:
        await self.bot.settle()
        self.before = snapshot(self.bot)
        self.calls = len(self.bot.fake.calls)
        self.responses = len(self.bot.fake.responses)
        self.logs = len(self.caplog.records)
        return self

    async def check(self, what: str, status: int, body: str = "", *, read_only: bool = False,
                    logs_clean: bool = True, elapsed: float | None = None, learns: tuple[str, ...] = ()) -> None:
        """`learns`: tables a read-only request may still write (a page learns the names of the people it shows)."""
        what = what if len(what) <= 700 else what[:700] + "…"
        event(f"answered {status}")  # see `pytest --hypothesis-show-statistics`
        assert status < 500, f"{what} → {status} {body[:300]!r}"
        # SPEC §5: the 3-second ack deadline is always met (Bolt gives up on an ack at 3 s and answers 404)
        assert elapsed is None or elapsed < ACK_DEADLINE, f"{what} → {status} after {elapsed:.1f} s"
        await self.bot.settle()
        if 400 <= status < 500 or read_only:
            diff = {table: rows for table, rows in changes(self.before, snapshot(self.bot)).items()
                    if table not in learns}
            assert not diff, f"{what} → {status}, yet stored rows changed: {diff}"
        for call in self.bot.fake.calls[self.calls:]:
            bad = [v for t in message_texts(call.args, method=call.method) for v in violations(t)]
            assert not bad, f"{what} made the bot send {call.method} with {bad}: {json.dumps(call.args)[:600]}"
        for posted in self.bot.fake.responses[self.responses:]:
            bad = [v for t in message_texts(posted) for v in violations(t)]
            assert not bad, f"{what} made the bot answer through response_url with {bad}: {posted}"
        bad = [v for t in ack_texts(body) for v in violations(t)]
        assert not bad, f"{what} was acked with {bad}: {body[:600]!r}"
        if logs_clean:
            failures = [r for r in self.caplog.records[self.logs:]
                        if r.levelno >= logging.ERROR and r.name.split(".")[0] == "bot"]
            assert not failures, f"{what} → {status}, but the bot logged: " + "; ".join(
                f"{r.getMessage()} ({r.exc_info[1]!r})" if r.exc_info else r.getMessage() for r in failures[:3])


# -- the bot under test ------------------------------------------------------------------------------------------

async def prepared(make_bot):
    """A bot with alerts on, a rotation (U0A, U0B, U0C in C0PAY), a P0 incident with a commander (its page to U0A
    is page 1), a P1 without one, and the update, resolve and handoff-note forms as Slack would hand them back."""
    bot = await make_bot(alerts_token=ALERT_TOKEN, admins="U0ADMIN")
    await with_rotation(bot)
    for user in KNOWN_USERS:
        if user not in bot.fake.users:
            bot.fake.add_user(user)
    first = await bot.declare("Checkout <!channel> is down <https://evil.example/login|log in>", priority="P0",
                              commander="U0COMMANDER")
    second = await bot.declare("Search is slow", priority="P1")
    bot.forms = {CallbackId.DECLARE_MODAL: await bot.open_declare()}
    for action in (ActionId.POST_UPDATE, ActionId.RESOLVE, ActionId.HANDOFF_NOTE):
        opened = len(bot.fake.calls_to("views.open"))
        await bot.slack.click(action, str(first.number), user="U0COMMANDER", channel=first.channel_id)
        await bot.fake.wait_for("views.open", opened + 1)
        view = list(bot.fake.views.values())[-1]
        bot.forms[view["callback_id"]] = view
    await bot.settle()
    assert set(bot.forms) == {CallbackId.DECLARE_MODAL, CallbackId.UPDATE_MODAL, CallbackId.RESOLVE_MODAL,
                              CallbackId.HANDOFF_NOTE_MODAL}
    bot.channels = {"general": "C0GENERAL", "pay": "C0PAY", "incidents": "C0INCIDENTS",
                    "inc1": first.channel_id, "inc2": second.channel_id, "unknown": "C0NOWHERE", "dm": "D0SOMEONE"}
    return bot


class Quiet:
    """The bot, shown as a name in hypothesis's reports (its full repr would bury the falsifying example)."""

    def __init__(self, bot) -> None:
        self.__dict__["_bot"] = bot

    def __getattr__(self, name: str):
        return getattr(self._bot, name)

    def __setattr__(self, name: str, value) -> None:
        setattr(self._bot, name, value)

    def __repr__(self) -> str:
        return "fuzz_bot"


@pytest.fixture
async def fuzz_bot(make_bot):
    return Quiet(await prepared(make_bot))


# -- strategies --------------------------------------------------------------------------------------------------

def mostly(usual, odd, odds: int = 4) -> st.SearchStrategy:
    """`usual` about `odds` times in `odds + 1`, else `odd`: most requests are well formed enough to reach the code
    behind the first checks (and a failing example shrinks towards the usual)."""
    return st.sampled_from(range(odds + 1)).flatmap(lambda i: odd if i == odds else usual)


HOSTILE = st.sampled_from([
    "<!channel>", "<!here>", "<!everyone>", "<!subteam^S0123|@oncall>", "<!here|here>", "<https://evil.example|x>",
    "<https://evil.example/login>", "https://g.example/x><!channel><https://evil.example/login", "<@U0OTHER>",
    "<@U0A|a>", "<#C0GENERAL|general>", "<#C0PAY>", "&lt;!here&gt;", "&amp;", "*bold*", "`code`", "```", "|", ">",
    "<", "\x00", "\u202e", "\ufeff", "\r\n", "\n", "\t", "INC-1", "INC-2", "INC-0", "INC-99999999999999999999",
    "INC-2147483648", "INC-9223372036854775808", "INC--1", "INC-٣", "99999999999999999999", "-1", "🔥", "é",
    "x" * 3001, ""])
TEXT = st.lists(st.one_of(HOSTILE, st.text(max_size=20)), max_size=6).map("".join)
USER = mostly(st.sampled_from(KNOWN_USERS), st.from_regex(r"[UW][A-Z0-9]{1,14}", fullmatch=True), odds=3)
CHANNEL = st.sampled_from(["general", "pay", "incidents", "inc1", "inc1", "inc2", "unknown", "dm"])
BIG_NUMBERS = ["2147483647", "2147483648", "4294967296", "9223372036854775807", "9223372036854775808",
               "99999999999", "999999999999", "9999999999999", "99999999999999999999"]
NUMBER = st.one_of(
    st.sampled_from(["1", "1", "2", "3", "0", "-1", "", " 1", "01", "1.0", "1e3", "٣", "²", "INC-1", "1:U0A:U0B"]),
    st.sampled_from(BIG_NUMBERS),
    st.integers(min_value=-(10**22), max_value=10**22).map(str), st.text(max_size=12))

# -- /slack/events -----------------------------------------------------------------------------------------------

REF = st.one_of(st.sampled_from(["INC-1", "INC-2", "INC-3", "inc-1", "INC-0", "INC-999999999", "INC--1",
                                 "INC-1.5", "INC-٣", *(f"INC-{n}" for n in BIG_NUMBERS)]),
                st.integers(min_value=0, max_value=10**25).map("INC-{}".format))
MENTION = st.one_of(
    st.builds("<@{}|{}>".format, USER, st.text(max_size=12).filter(lambda s: ">" not in s)),
    st.builds("<@{}>".format, USER), st.sampled_from(["<@>", "<@U0A|<!channel>>", "<@U0A|a|b>"]))
CHANNEL_REF = st.one_of(
    st.sampled_from(["<#C0PAY|payments-oncall>", "<#C0GENERAL>", "<#C0NOWHERE|x>", "#general", "C0PAY",
                     "<#C0PAY|<!here>>"]),
    st.builds("<#{}|{}>".format, st.from_regex(r"C[A-Z0-9]{1,12}", fullmatch=True), st.text(max_size=10)))
VERB = st.sampled_from(["", "declare", "new", "help", "list", "show", "timeline", "stats", "oncall", "board",
                        "handoff", "rotation", "update", "status", "priority", "commander", "responders", "resolve",
                        "reopen", "duplicate", "close", "page", "followup", "followups", "heartbeat", "INC-1",
                        "frobnicate", "pto", "route", "me"])
WORD = st.sampled_from(["create", "add", "remove", "order", "override", "swap", "feed-reset", "cover", "usergroup",
                        "stats", "report", "escalation", "set", "layer", "roster", "holidays", "DE-BY", "env=prod",
                        "mon-fri", "08:00-16:00", "shift", "7d", "roles", "handoff", "test", "list",
                        "2026-11", "2099-01", "payments", "P0", "P1", "P2", "P9", "triaged",
                        "in_progress", "in", "progress", "blocked", "resolved", "closed", "new", "primary",
                        "secondary", "tertiary", "all", "mine", "open", "as", "now", "tomorrow", "2026-11-30",
                        "2026-13-45", "25:99", "12", "-3", "week", "off", *BIG_NUMBERS])
COMMAND_TEXT = st.builds(
    lambda verb, rest: " ".join([verb, *rest]), VERB,
    st.lists(st.one_of(WORD, REF, MENTION, CHANNEL_REF, HOSTILE, st.text(max_size=15)), max_size=7))


@SETTINGS
@example(text="duplicate INC-1 INC-99999999999999999999", user="U0COMMANDER", channel="general")
@example(text="show INC-2147483648", user="U0OTHER", channel="general")
@example(text="rotation swap <@U0A> <@U0B> 99999999999", user="U0A", channel="pay")
@example(text="rotation override <@U0B> now 99999999999", user="U0A", channel="pay")
@example(text="update INC-1 <!channel> see <https://evil.example/login|the fix>", user="U0COMMANDER",
         channel="inc1")
@example(text="page <@U0B|<!here>>", user="U0COMMANDER", channel="inc1")
@example(text="rotation create <!channel> <#C0GENERAL|general>", user="U0OTHER", channel="general")
@example(text="frobnicate <!here> <https://evil.example|x>", user="U0OTHER", channel="general")
@given(text=COMMAND_TEXT, user=USER, channel=CHANNEL)
async def test_slash_commands(fuzz_bot, caplog, text, user, channel):
    bot = fuzz_bot
    watch = await Watch(bot, caplog).start()
    status, body, elapsed = await bot.slack.command(text[:4000], user=user, channel=bot.channels[channel])
    assert status == 200, (text, status, body[:300])  # SPEC: malformed input gets a short answer, never an error
    await watch.check(f"/incident {text!r} by {user} in {channel}", status, body, elapsed=elapsed)


ANSWER = st.one_of(st.none(), TEXT, NUMBER, USER, st.lists(st.one_of(NUMBER, st.sampled_from(
    ["cannot_log_in", "cannot_use", "data_or_security", "build_broken", "yes", "no"])), max_size=3))
ANSWERS = st.dictionaries(st.sampled_from([b.value for b in BlockId]), ANSWER, max_size=8)


def state_for(view: dict, answers: dict) -> dict:
    """`view.state.values` in the shape Slack sends for the inputs of `view`, holding generated answers."""
    values: dict = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input" or block["block_id"] not in answers:
            continue
        element, answer = block["element"], answers[block["block_id"]]
        kind = element["type"]
        one = answer[0] if isinstance(answer, list) and answer else answer
        state: dict = {"type": kind}
        if kind == "plain_text_input":
            state["value"] = None if answer is None else str(one)
        elif kind in ("static_select", "radio_buttons"):
            state["selected_option"] = None if one is None else {"value": str(one), "text": {"type": "plain_text",
                                                                                          "text": "x"}}
        elif kind == "checkboxes":
            chosen = answer if isinstance(answer, list) else [] if answer is None else [answer]
            state["selected_options"] = [{"value": str(v), "text": {"type": "plain_text", "text": "x"}}
                                         for v in chosen]
        elif kind == "users_select":
            state["selected_user"] = None if one is None else str(one)
        values[block["block_id"]] = {element["action_id"]: state}
    return values


LISTENED_ACTIONS = [ActionId.ACKNOWLEDGE, ActionId.TAKE_COMMAND, ActionId.POST_UPDATE, ActionId.RESOLVE,
                    ActionId.PAGE_ACKNOWLEDGE, ActionId.PAGE_ESCALATE, ActionId.HANDOFF_NOTE, ActionId.HAND_OVER,
                    ActionId.IMPACT]


def _container(bot, where: str, channel: str, answers: dict) -> dict:
    """Where a button was pressed: a message in a channel, the App Home, or the declare form."""
    if where == "home":
        return {"container": {"type": "view", "view_id": "V0HOME"},
                "view": {"id": "V0HOME", "type": "home", "blocks": [], "hash": "1.1", "state": {"values": {}}}}
    if where == "modal":
        view = bot.forms[CallbackId.DECLARE_MODAL]
        return {"container": {"type": "view", "view_id": view["id"]},
                "view": {**view, "state": {"values": state_for(view, answers)}}}
    return {"container": {"type": "message", "message_ts": "1.2", "channel_id": bot.channels[channel]},
            "channel": {"id": bot.channels[channel], "name": channel}, "response_url": bot.fake.response_url("act")}


@SETTINGS
@example(action_id=ActionId.ACKNOWLEDGE, value="99999999999999999999", user="U0COMMANDER", where="message",
         channel="inc1", answers={})
@example(action_id=ActionId.TAKE_COMMAND, value="2147483648", user="U0A", where="message", channel="inc1",
         answers={})
@example(action_id=ActionId.PAGE_ESCALATE, value="99999999999", user="U0A", where="message", channel="dm",
         answers={})
@example(action_id=ActionId.PAGE_ACKNOWLEDGE, value="9223372036854775808", user="U0A", where="home",
         channel="dm", answers={})
@example(action_id=ActionId.HAND_OVER, value="99999999999:U0A:U0B", user="U0A", where="message", channel="pay",
         answers={})
@example(action_id=ActionId.POST_UPDATE, value="-1", user="U0COMMANDER", where="home", channel="general",
         answers={})
@example(action_id=ActionId.IMPACT, value="cannot_log_in", user="U0OTHER", where="modal", channel="general",
         answers={"title": "<!channel> x", "rotation": "99999999999", "commander": "U0A"})
@given(action_id=mostly(st.sampled_from(LISTENED_ACTIONS), st.one_of(st.sampled_from(list(ActionId)),
                                                                     st.text(max_size=10))), value=NUMBER, user=USER,
       where=st.sampled_from(["message", "message", "home", "modal"]), channel=CHANNEL, answers=ANSWERS)
async def test_block_actions(fuzz_bot, caplog, action_id, value, user, where, channel, answers):
    bot = fuzz_bot
    if action_id == ActionId.IMPACT:  # only the declare form carries the impact checkboxes
        where = "modal"
    payload = sample("block_actions_payload.json")
    payload.pop("channel")
    payload.pop("response_url")
    payload.update(_container(bot, where, channel, answers))
    payload["user"] = {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T111"}
    payload["trigger_id"] = bot.slack._trigger_id()
    action = {"action_id": action_id, "block_id": "x", "value": value, "type": "button", "action_ts": "1.3",
              "text": {"type": "plain_text", "text": "x"}}
    if action_id == ActionId.IMPACT:
        action = {**action, "type": "checkboxes", "selected_options": [{"value": value}]}
    payload["actions"] = [action]
    watch = await Watch(bot, caplog).start()
    status, body, elapsed = await bot.slack.interaction(payload)
    await watch.check(f"{action_id!r} = {value!r} by {user} on {where}/{channel}", status, body, elapsed=elapsed)


METADATA = st.one_of(
    NUMBER, TEXT,
    st.fixed_dictionaries({}, optional={
        "channel": st.one_of(CHANNEL, st.text(max_size=10)),
        "source": st.builds("https://workspace-domain.slack.com/archives/{}/p{}".format,
                            st.from_regex(r"[CGD][A-Z0-9]{2,11}", fullmatch=True),
                            st.integers(min_value=0, max_value=10**16))}).map(json.dumps))


@SETTINGS
@example(callback=CallbackId.UPDATE_MODAL, user="U0COMMANDER", metadata="99999999999999999999", view_id="V0SAME",
         answers={"update_text": "<!channel> done"})
@example(callback=CallbackId.RESOLVE_MODAL, user="U0COMMANDER", metadata="2147483648", view_id="V0SAME",
         answers={"resolve_summary": "fixed", "rollback": "yes"})
@example(callback=CallbackId.HANDOFF_NOTE_MODAL, user="U0COMMANDER", metadata="1", view_id=None,
         answers={"handoff_note": "<https://evil.example/login|log in> <!here>"})
@example(callback=CallbackId.DECLARE_MODAL, user="U0OTHER", metadata='{"channel": "pay"}', view_id="V0NEW",
         answers={"title": "<!channel> <https://evil.example|x>", "description": "\x00<!here>",
                  "priority": "P0", "rotation": "99999999999", "commander": "U0A", "impact": ["build_broken"]})
@example(callback=CallbackId.DECLARE_MODAL, user="U0OTHER", metadata="[1]", view_id=None,
         answers={"title": "x", "rotation": "-1", "priority": "P9"})
@given(callback=st.sampled_from([*CallbackId, "unknown_callback"]), user=USER,
       metadata=METADATA, view_id=st.one_of(st.none(), st.sampled_from(["V0SAME", "V0OTHER"]), st.text(max_size=10)),
       answers=ANSWERS)
async def test_view_submissions(fuzz_bot, caplog, callback, user, metadata, view_id, answers):
    bot = fuzz_bot
    data = _json(metadata)
    if isinstance(data, dict) and data.get("channel") in bot.channels:  # a channel named by its place in bot.channels
        metadata = json.dumps({**data, "channel": bot.channels[data["channel"]]})
    view = dict(bot.forms.get(callback, bot.forms[CallbackId.DECLARE_MODAL]))
    view.update(callback_id=callback, private_metadata=metadata, id=view_id, hash="1.hash",
                state={"values": state_for(view, answers)})
    if view_id is None:
        view.pop("id")
    payload = sample("view_submission_payload.json")
    payload["user"] = {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T111"}
    payload["view"] = view
    watch = await Watch(bot, caplog).start()
    status, body, elapsed = await bot.slack.interaction(payload)
    await watch.check(f"{callback} submitted by {user} with metadata {metadata!r} and {answers!r}", status, body,
                      elapsed=elapsed)


@SETTINGS
@example(kind="message_action", callback=CallbackId.DECLARE_SHORTCUT, user="U0OTHER", channel="general",
         text="<!channel> checkout is down <https://evil.example/login|log in>\nsecond line", author="U0A",
         ts="1790000001.000100")
@example(kind="message_action", callback=CallbackId.DECLARE_SHORTCUT, user="U0OTHER", channel="unknown",
         text=None, author=None, ts=None)
@given(kind=st.sampled_from(["message_action", "message_action", "shortcut"]),
       callback=mostly(st.just(CallbackId.DECLARE_SHORTCUT), st.text(max_size=10)), user=USER,
       channel=CHANNEL, text=st.one_of(st.none(), TEXT), author=st.one_of(st.none(), USER),
       ts=st.one_of(st.none(), st.sampled_from(["1790000001.000100", "x", ""])))
async def test_shortcuts(fuzz_bot, caplog, kind, callback, user, channel, text, author, ts):
    bot = fuzz_bot
    payload = {"type": kind, "callback_id": callback, "trigger_id": bot.slack._trigger_id(), "action_ts": "1.2",
               "team": {"id": "T111", "domain": "workspace-domain"}, "token": "verification_token",
               "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T111"},
               "response_url": bot.fake.response_url("shortcut")}
    if kind == "message_action":
        message = {"type": "message", "text": text, "user": author, "ts": ts}
        payload.update(channel={"id": bot.channels[channel], "name": channel}, message_ts=ts,
                       message={k: v for k, v in message.items() if v is not None})
    watch = await Watch(bot, caplog).start()
    status, body, elapsed = await bot.slack.interaction(payload)
    await watch.check(f"{kind} {callback!r} on {text!r} by {user}", status, body, elapsed=elapsed)


EVENT = st.one_of(
    st.fixed_dictionaries({"type": st.just("app_home_opened"), "user": USER, "channel": st.just("D0HOME"),
                           "event_ts": st.just("1.2")},
                          optional={"tab": st.one_of(st.sampled_from(["home", "messages", "about"]), TEXT)}),
    st.fixed_dictionaries({
        "type": st.sampled_from(["app_mention", "message", "reaction_added", "reaction_removed", "pin_added",
                                 "member_joined_channel", "channel_archive", "app_uninstalled", "tokens_revoked",
                                 "user_change"]),
        "user": USER, "channel": CHANNEL, "text": TEXT, "ts": st.just("1790000001.000200"),
        "event_ts": st.just("1790000001.000200")},
        optional={"reaction": st.sampled_from(["pushpin", "fire"]),
                  "subtype": st.sampled_from(["message_changed", "bot_message", "message_deleted"]),
                  "item": st.fixed_dictionaries({"type": st.just("message"), "channel": CHANNEL,
                                                 "ts": st.just("1790000001.000200")})}),
    st.fixed_dictionaries({"type": st.text(max_size=12), "user": USER}))


@SETTINGS
@example(event={"type": "app_home_opened", "user": "U0COMMANDER", "channel": "D0HOME", "event_ts": "1.2",
                "tab": "home"}, retry=None, verification="<!channel>")
@example(event={"type": "reaction_added", "user": "U0A", "channel": "inc1", "reaction": "pushpin",
                "text": "<!channel>", "ts": "1790000001.000200", "event_ts": "1790000001.000200",
                "item": {"type": "message", "channel": "inc1", "ts": "1790000001.000200"}}, retry="1",
         verification=None)
@given(event=EVENT, retry=st.one_of(st.none(), st.sampled_from(["1", "2", "x"])),
       verification=st.one_of(st.none(), TEXT))
async def test_events(fuzz_bot, caplog, event, retry, verification):
    bot = fuzz_bot
    event = json.loads(json.dumps(event))
    if event.get("channel") in bot.channels:
        event["channel"] = bot.channels[event["channel"]]
    if isinstance(event.get("item"), dict) and event["item"].get("channel") in bot.channels:
        event["item"]["channel"] = bot.channels[event["item"]["channel"]]
    watch = await Watch(bot, caplog).start()
    if verification is not None:  # Slack checking the Request URL
        body = json.dumps({"token": "x", "challenge": verification, "type": "url_verification"})
        status, answer, _ = await bot.slack.post(body, "application/json")
        assert status == 200 and json.loads(answer) == {"challenge": verification}, answer[:300]
        await watch.check("url_verification", status, "")
        watch = await Watch(bot, caplog).start()
    headers = {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"} if retry else None
    status, body, elapsed = await bot.slack.event(event, extra_headers=headers)
    await watch.check(f"event {event!r}", status, body, elapsed=elapsed)


# Bodies Slack would never send, correctly signed: bad JSON, missing fields, wrong types, odd encodings.
JUNK = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10), st.lists(st.integers(), max_size=2),
                 st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


def _form(fields: dict) -> bytes:
    return urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}).encode()


RESPONSE_URL = "RESPONSE-URL-OF-THE-FAKE"  # replaced by the fake Slack's response_url before a body is signed


def _interaction(kind: str, drop: list[str], overrides: dict) -> dict:
    base = {"block_actions": sample("block_actions_payload.json"),
            "view_submission": sample("view_submission_payload.json"),
            "view_closed": sample("view_closed_payload.json"),
            "message_action": {"type": "message_action", "callback_id": CallbackId.DECLARE_SHORTCUT,
                               "trigger_id": "1.2.3", "user": {"id": "U0OTHER"}, "channel": {"id": "C0GENERAL"},
                               "message": {"text": "hi", "ts": "1.2"}, "team": {"id": "T111", "domain": "d"}}}[kind]
    if "response_url" in base or kind == "message_action":
        base["response_url"] = RESPONSE_URL
    if kind == "block_actions":
        base["actions"][0]["action_id"] = ActionId.ACKNOWLEDGE
        base["actions"][0]["value"] = "1"
    if kind == "view_submission":
        base["view"]["callback_id"] = CallbackId.UPDATE_MODAL
        base["view"]["private_metadata"] = "1"
    for key in drop:
        base.pop(key, None)
    base.update(overrides)
    return base


def _command(drop: list[str], extra: dict) -> bytes:
    fields = {**sample("slash_command_fields.json"), "command": "/incident", "text": "list",
              "response_url": RESPONSE_URL, **extra}
    return _form({k: v for k, v in fields.items() if k not in drop})


FORM = "application/x-www-form-urlencoded"
MALFORMED = st.one_of(
    # `payload=` that is not JSON, or JSON that is not an object
    st.builds(lambda text: (_form({"payload": text}), FORM),
              st.one_of(st.sampled_from(["{", "{not json", "[1, 2", "nul", "{\"type\": }", ""]), st.text(max_size=20))),
    st.builds(lambda value: (_form({"payload": value}), FORM), JUNK),
    # an interaction with fields missing or of the wrong type
    st.builds(lambda kind, drop, overrides: (_form({"payload": _interaction(kind, drop, overrides)}), FORM),
              st.sampled_from(["block_actions", "view_submission", "view_closed", "message_action"]),
              st.lists(st.sampled_from(["user", "actions", "view", "trigger_id", "team", "channel", "container",
                                        "message", "callback_id", "type"]), max_size=3),
              st.dictionaries(st.sampled_from(["user", "actions", "view", "trigger_id", "team", "channel",
                                               "container", "message", "callback_id", "response_url"]),
                              JUNK, max_size=2)),
    # a slash command with fields missing or odd
    st.builds(lambda drop, extra: (_command(drop, extra), FORM),
              st.lists(st.sampled_from(["user_id", "channel_id", "trigger_id", "text", "response_url", "team_id",
                                        "command"]), max_size=3),
              st.dictionaries(st.sampled_from(["text", "user_id", "channel_id", "command", "trigger_id"]),
                              st.text(max_size=10), max_size=2)),
    # events: bad JSON, not an object, an event of the wrong shape
    st.builds(lambda text: (text.encode(), "application/json"),
              st.one_of(st.sampled_from(["{", "{\"type\": \"event_callback\"", "[]", "null", "1", "\"x\"", ""]),
                        st.text(max_size=20))),
    st.builds(lambda event, kind: (json.dumps({"type": kind, "team_id": "T111", "api_app_id": "A111",
                                               "event_id": "Ev1", "event": event}).encode(), "application/json"),
              st.one_of(JUNK, st.fixed_dictionaries({"type": st.just("app_home_opened")},
                                                    optional={"user": JUNK, "tab": JUNK})),
              st.sampled_from(["event_callback", "url_verification", "app_rate_limited", "other"])),
    # bytes that are not UTF-8, a body with NULs, a content type that does not match
    st.builds(lambda raw, kind: (raw, kind), st.binary(max_size=40),
              st.sampled_from(["application/json", FORM, "text/plain", ""])),
)


def sign_bytes(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


async def post_raw(bot, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, float]:
    started = time.monotonic()
    async with bot.slack.session.post(f"{bot.url}{path}", data=body, headers=headers) as response:
        return response.status, (await response.read()).decode(errors="replace"), time.monotonic() - started


@SETTINGS
@example(request=(b"payload=%7Bnot+json", FORM))
@example(request=(b"{\"type\": \"event_callback\"", "application/json"))
@example(request=(b"\xff\xfe", FORM))
@example(request=(_form({"payload": _interaction("view_submission", ["view"], {})}), FORM))
@example(request=(_form({"payload": _interaction("block_actions", [], {"user": None})}), FORM))
@example(request=(_form({"payload": _interaction("message_action", [], {"team": "T111", "channel": "C0GENERAL"})}),
                  FORM))  # bare ids where Slack sends objects: found by the fuzzer, once
@example(request=(_command(["user_id"], {}), FORM))
@given(request=MALFORMED)
async def test_malformed_signed_slack_bodies(fuzz_bot, caplog, request):
    bot = fuzz_bot
    body, content_type = request
    watch = await Watch(bot, caplog).start()
    body = body.replace(RESPONSE_URL.encode(), quote_plus(bot.fake.response_url("junk")).encode())
    status, answer, elapsed = await post_raw(bot, "/slack/events", body, {"Content-Type": content_type,
                                                                          **sign_bytes(SECRET, body)})
    # A listener may fail on a body Slack never sends; what it must not do is answer 5xx or store half of it.
    await watch.check(f"signed {content_type} body {body[:300]!r}", status, answer, logs_clean=False,
                      elapsed=elapsed)


def bare_probe(body: bytes, content_type: str) -> bool:
    """Slack's unsigned certificate probe, the one request answered unsigned: a form of exactly `ssl_check=1` and
    `token`, nothing beside them (issue 32 item 6)."""
    try:
        fields = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    return content_type == FORM and sorted(k for k, _ in fields) == ["ssl_check", "token"] \
        and dict(fields)["ssl_check"] == "1"


def forged_headers(kind: str, body: bytes) -> dict[str, str]:
    now = int(time.time())
    return {
        "unsigned": lambda: {},
        "other secret": lambda: sign_bytes("not-the-secret", body),
        "stale": lambda: sign_bytes(SECRET, body, now - 301),
        "future": lambda: sign_bytes(SECRET, body, now + 3600),
        "other body": lambda: sign_bytes(SECRET, body + b"&x=1"),
        "bad header": lambda: {**sign_bytes(SECRET, body), "X-Slack-Signature": "v0=zz"},
        "no timestamp": lambda: {"X-Slack-Signature": sign_bytes(SECRET, body)["X-Slack-Signature"]},
        "v1": lambda: {k: v.replace("v0=", "v1=") for k, v in sign_bytes(SECRET, body).items()},
        "odd timestamp": lambda: {**sign_bytes(SECRET, body), "X-Slack-Request-Timestamp": "²"},
        "huge timestamp": lambda: sign_bytes(SECRET, body, 10**30),
    }[kind]()


SIGNED_SHAPES = st.one_of(
    st.builds(lambda text, user: (_command([], {"text": text, "user_id": user}), FORM), COMMAND_TEXT, USER),
    st.builds(lambda value, user: (_form({"payload": _interaction("block_actions", [], {
        "user": {"id": user}, "actions": [{"action_id": ActionId.TAKE_COMMAND, "block_id": "b", "value": value,
                                            "type": "button", "action_ts": "1"}]})}), FORM), NUMBER, USER),
    st.builds(lambda: (json.dumps({"type": "url_verification", "challenge": "c"}).encode(), "application/json")))


@FEW
@example(forgery="unsigned", request=(_command([], {"text": "rotation create stolen <#C0GENERAL|general>",
                                                    "user_id": "U0OTHER"}), FORM))
@example(forgery="stale", request=(_form({"payload": _interaction("block_actions", [], {
    "user": {"id": "U0OTHER"}, "actions": [{"action_id": ActionId.TAKE_COMMAND, "block_id": "b", "value": "1",
                                            "type": "button", "action_ts": "1"}]})}), FORM))
@example(forgery="unsigned", request=(b"payload=%7Bnot+json", FORM))
@example(forgery="unsigned", request=(b"ssl_check=1&token=x&command=%2Fincident&text=list", FORM))
@example(forgery="unsigned", request=(b"ssl_check=1", FORM))  # no token: not the probe, refused
@example(forgery="unsigned", request=(b"ssl_check=1&token=x", FORM))  # the probe: 200, changes nothing
@example(forgery="other secret", request=(b"{\"type\": \"event_callback\"", "application/json"))
@example(forgery="other secret", request=(b"\x80", "application/json"))
@example(forgery="odd timestamp", request=(b"payload=%7B%7D", FORM))
@given(forgery=st.sampled_from(["unsigned", "other secret", "stale", "future", "other body", "bad header",
                                "no timestamp", "v1", "odd timestamp", "huge timestamp"]),
       request=st.one_of(SIGNED_SHAPES, MALFORMED))
async def test_unsigned_and_forged_requests_change_nothing(fuzz_bot, caplog, forgery, request):
    bot = fuzz_bot
    body, content_type = request
    watch = await Watch(bot, caplog).start()
    body = body.replace(RESPONSE_URL.encode(), quote_plus(bot.fake.response_url("junk")).encode())
    status, answer, elapsed = await post_raw(bot, "/slack/events", body, {"Content-Type": content_type,
                                                                          **forged_headers(forgery, body)})
    what = f"{forgery} {content_type} body {body[:300]!r}"
    assert status == (200 if bare_probe(body, content_type) else 401), f"{what} → {status} {answer[:200]!r}"
    await watch.check(what, status, answer, elapsed=elapsed, read_only=True)
    assert bot.fake.calls[watch.calls:] == [] and bot.fake.responses[watch.responses:] == [], "a forgery reached Slack"


# -- /alerts/* ---------------------------------------------------------------------------------------------------

def _not_a_link(text: str) -> bool:
    """Text the bot would not take for an http(s) URL (so every URL it may link to is one this file built)."""
    return "://" not in clean_text(text) and "%3a" not in text.lower()


INJECTED_URL = "https://g.example/x><!channel><https://evil.example/login"
URL_SUFFIX = st.lists(st.one_of(
    st.sampled_from(["/x><!channel><https://evil.example/login", "/d/1?a=1&b=<!here>", "/|https://evil.example",
                     "/a>b", "/<@U0A>", "/%3E%3C!channel%3E", "#<!everyone>", "?q=<https://evil.example|x>",
                     "/\x00", "/" + "a" * 600, "/ok", "/<!subteam^S1>"]),
    st.text(alphabet=st.characters(blacklist_categories=["Zs", "Cc"]), max_size=12).map("/{}".format)),
    max_size=3).map("".join)
ALERT_URL = mostly(
    st.builds("{}://{}{}".format, st.sampled_from(["http", "https", "HTTPS"]), st.sampled_from(ALERT_HOSTS),
              URL_SUFFIX),
    st.one_of(st.sampled_from(["javascript:alert(1)", "ftp://g.example/x", "g.example/x", "", " ", "<!channel>",
                               "data:text/html,<!here>"]), st.text(max_size=20).filter(_not_a_link)), odds=3)
SAFE_TEXT = TEXT.filter(_not_a_link)
TITLE = st.builds("{}{}".format, st.sampled_from(["Disk full ", "Checkout 5xx ", "x", ""]), SAFE_TEXT)
JSON_VALUE = st.one_of(SAFE_TEXT, st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                       st.floats(), st.lists(st.integers(), max_size=2),
                       st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))
NOT_STRING = JSON_VALUE.filter(lambda v: not isinstance(v, str))
CONTENT_TYPE = mostly(st.just("application/json"), st.sampled_from([
    "application/json; charset=utf-8", "application/vnd.custom+json", "text/plain", FORM, "",
    "multipart/form-data; boundary=x"]), odds=5)
AUTH = mostly(st.just("good"), st.sampled_from(["lowercase scheme", "wrong", "missing", "empty", "basic", "padded"]),
              odds=5)
RAW_BODY = mostly(st.none(), st.sampled_from([
    "{", "", "null", "[]", "\"x\"", "{\"title\": \"a\u0000b\"}", "{\"title\": \"\\u0000\"}",
    "{\"title\": \"\\ud800\"}", "{\"title\": 1e999}", "{\"title\": \"x\", \"title\": [1]}"]), odds=6)


def alert_headers(auth: str, content_type: str, gitlab: bool = False) -> tuple[dict[str, str], bool]:
    """Headers, and whether they carry the right token (GitLab sends it as X-Gitlab-Token)."""
    value = {"good": f"Bearer {ALERT_TOKEN}", "lowercase scheme": f"bearer {ALERT_TOKEN}", "wrong": "Bearer nope",
             "missing": None, "empty": "", "basic": f"Basic {ALERT_TOKEN}", "padded": f"Bearer  {ALERT_TOKEN} "}[auth]
    headers = {"Content-Type": content_type} if content_type else {}
    if value is not None and gitlab:
        headers["X-Gitlab-Token"] = value.removeprefix("Bearer ")
    elif value is not None:
        headers["Authorization"] = value
    good = auth in ("good", "padded") if gitlab else auth in ("good", "lowercase scheme", "padded")
    return headers, good


def _is_json(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


async def post_alert(bot, caplog, path: str, body, raw: str | None, auth: str, content_type: str,
                     extra_headers: dict | None = None) -> tuple[int, dict]:
    headers, good_token = alert_headers(auth, content_type, gitlab=path.endswith("gitlab"))
    headers.update(extra_headers or {})
    data = raw.encode("utf-8", errors="surrogatepass") if raw is not None else json.dumps(body).encode()
    watch = await Watch(bot, caplog).start()
    status, text, _ = await post_raw(bot, path, data, headers)
    what = f"POST {path} {headers} {data[:600]!r}"
    await watch.check(what, status, "")
    answer = json.loads(text) if text.startswith("{") else {}
    if not good_token:
        assert status == 401, f"{what[:600]} → {status}: a wrong token must be 401"
    elif not _is_json(content_type):
        assert status == 415, f"{what[:600]} → {status}: a body that is not JSON must be 415"
    if status == 400:
        event(f"refused field {answer.get('field')}")
    if 400 <= status < 500:
        assert isinstance(answer.get("error"), str) and answer["error"], f"{what[:600]} → {status} {text[:200]!r}"
    else:
        assert status == 202 and "incident" in answer, f"{what[:600]} → {status} {text[:200]!r}"
    return status, answer


GOOD = {"raw": None, "auth": "good", "content_type": "application/json"}


@SETTINGS
@example(body={"title": "Disk full", "url": INJECTED_URL}, **GOOD)
@example(body={"title": "Disk full", "url": INJECTED_URL, "status": "resolved"}, **GOOD)
@example(body={"title": "Disk full", "url": "https://g.example/a|https://evil.example/b"}, **GOOD)
@example(body={"title": "a\x00b <!here>", "description": "\x00<!channel>", "fingerprint": "\x00"}, **GOOD)
@example(body={"title": 10**30, "priority": "P0", "fingerprint": 2**70, "rotation": "payments"}, **GOOD)
@example(body={"title": "x"}, raw="{\"title\": \"\\u0000\"}", auth="good", content_type="application/json")
@example(body={"title": "x"}, raw=None, auth="wrong", content_type="application/json")
@given(body=mostly(st.fixed_dictionaries({"title": mostly(TITLE, JSON_VALUE, odds=8)}, optional={
    "description": mostly(SAFE_TEXT, JSON_VALUE, odds=8),
    "fingerprint": mostly(st.sampled_from(["fp-1", "fp-2", "fp-3"]), JSON_VALUE, odds=8),
    "priority": mostly(st.sampled_from(["P0", "P1", "P2", "p0", "critical", "warning"]), JSON_VALUE, odds=8),
    "status": mostly(st.sampled_from(["firing", "resolved", "RESOLVED", " firing "]), JSON_VALUE, odds=8),
    "url": mostly(ALERT_URL, NOT_STRING, odds=8),
    "rotation": mostly(st.sampled_from(["payments", "nope"]), JSON_VALUE, odds=8),
    "extra": JSON_VALUE}), JSON_VALUE, odds=8), raw=RAW_BODY, auth=AUTH, content_type=CONTENT_TYPE)
async def test_generic_alerts(fuzz_bot, caplog, body, raw, auth, content_type):
    await post_alert(fuzz_bot, caplog, "/alerts/generic", body, raw, auth, content_type)


LABELS = st.builds(
    lambda known, other: {**other, **known},
    st.fixed_dictionaries({"alertname": mostly(TITLE, JSON_VALUE, odds=6)}, optional={
        "severity": mostly(st.sampled_from(["critical", "warning", "info", "page", "P0"]), JSON_VALUE, odds=6),
        "instance": mostly(SAFE_TEXT, JSON_VALUE), "rotation": st.sampled_from(["payments", "nope"])}),
    st.dictionaries(st.text(max_size=8), JSON_VALUE, max_size=3))
AM_ALERT = mostly(st.fixed_dictionaries({"labels": mostly(LABELS, JSON_VALUE, odds=8)}, optional={
    "status": mostly(st.sampled_from(["firing", "resolved"]), JSON_VALUE),
    "annotations": mostly(st.dictionaries(st.sampled_from(["summary", "title", "description", "runbook"]),
                                          mostly(SAFE_TEXT, JSON_VALUE), max_size=3), JSON_VALUE),
    "fingerprint": mostly(st.sampled_from(["5f4e4a9d1c2b3a40", "a81c7e0f99d2b611"]), JSON_VALUE),
    "generatorURL": mostly(ALERT_URL, NOT_STRING),
    "startsAt": st.sampled_from(["2026-11-25T11:58:00.000Z", "0001-01-01T00:00:00Z", "yesterday"]),
    "endsAt": st.sampled_from(["2026-11-25T11:58:00.000Z", "0001-01-01T00:00:00Z"])}), JSON_VALUE, odds=8)
AM_TOP = st.fixed_dictionaries({}, optional={
    "version": mostly(st.just("4"), st.one_of(st.sampled_from(["3", 4]), JSON_VALUE)),
    "status": mostly(st.sampled_from(["firing", "resolved"]), JSON_VALUE),
    "commonLabels": mostly(LABELS, JSON_VALUE), "groupKey": JSON_VALUE, "truncatedAlerts": JSON_VALUE,
    "receiver": JSON_VALUE, "externalURL": ALERT_URL})


@SETTINGS
@example(alerts=[], size=201, top={}, **GOOD)
@example(alerts=[{"labels": {"alertname": "x"}, "generatorURL": INJECTED_URL}], size=None, top={}, **GOOD)
@example(alerts=[{"labels": {"alertname": "x\x00", "severity": "critical"}, "fingerprint": "\x00",
                  "annotations": {"summary": "<!here>", "description": "\x00<https://evil.example|x>"}}],
         size=None, top={"commonLabels": {"alertname": "<!channel>"}}, **GOOD)
@example(alerts=[{"labels": {"alertname": "a"}}, {"labels": {}}], size=None, top={}, **GOOD)
@example(alerts=[{"labels": {"alertname": ""}}], size=None, top={"commonLabels": {"alertname": True}}, **GOOD)
@given(alerts=mostly(st.lists(AM_ALERT, min_size=1, max_size=4), st.just([]), odds=8),
       size=mostly(st.none(), st.sampled_from([200, 201, 250]), odds=6), top=AM_TOP,
       raw=RAW_BODY, auth=AUTH, content_type=CONTENT_TYPE)
async def test_alertmanager_groups(fuzz_bot, caplog, alerts, size, top, raw, auth, content_type):
    """Up to 250 alerts in a group (large groups repeat a few alerts, so that a run stays short)."""
    bot = fuzz_bot
    if size is not None:
        alerts = [{"labels": {"alertname": "Storm", "instance": f"i{i % 3}"}, "status": "firing",
                   "fingerprint": f"storm-{i % 3}", "generatorURL": "https://g.example/storm"} for i in range(size)] \
            if not alerts else [alerts[i % len(alerts)] for i in range(size)]
    body = {"version": "4", "status": "firing", "receiver": "firefighter", "groupLabels": {}, **top,
            "alerts": alerts}
    status, answer = await post_alert(bot, caplog, "/alerts/alertmanager", body, raw, auth, content_type)
    if raw is None and len(alerts) > 200:
        # SPEC: a body is taken whole whatever its number of alerts (only its size is limited): never a 413 for
        # the count, and an accepted body answers for every alert (a 4xx stores nothing: checked for every request)
        assert status != 413, f"{len(alerts)} alerts → {status} {answer}"
        if status == 202:
            assert len(answer["incidents"]) == len(alerts)


GITLAB = sample("gitlab_pipeline_failed.json")


@SETTINGS
@example(attributes={}, project={}, commit={"title": "Bump\x00 the client", "message": "Bump\x00"},
         kind="pipeline", event="Pipeline Hook", **GOOD)
@example(attributes={"url": INJECTED_URL}, project={}, commit={}, kind="pipeline", event="Pipeline Hook", **GOOD)
@example(attributes={"url": None}, project={"web_url": "https://gitlab.example.com/x><!here><https://evil.example"},
         commit={"author": {"name": "<!channel>"}}, kind="pipeline", event="Pipeline Hook", **GOOD)
@example(attributes={"ref": "main\x00", "id": 2**70}, project={"id": 2**70, "path_with_namespace": "a\x00/b"},
         commit={}, kind="pipeline", event="Pipeline Hook", **GOOD)
@example(attributes={"status": "success"}, project={}, commit={}, kind="pipeline", event="Pipeline Hook", **GOOD)
@given(attributes=st.fixed_dictionaries({}, optional={
    "ref": mostly(st.sampled_from(["main", "feature/x", "<!channel>"]), JSON_VALUE),
    "status": mostly(st.sampled_from(["failed", "success", "running", "FAILED"]), JSON_VALUE),
    "tag": JSON_VALUE, "default_branch": mostly(st.just("main"), JSON_VALUE),
    "id": mostly(st.integers(min_value=-(2**70), max_value=2**70), JSON_VALUE),
    "url": mostly(ALERT_URL, NOT_STRING)}),
    project=st.fixed_dictionaries({}, optional={
        "id": mostly(st.integers(min_value=-(2**70), max_value=2**70), JSON_VALUE),
        "name": mostly(SAFE_TEXT, JSON_VALUE), "path_with_namespace": mostly(SAFE_TEXT, JSON_VALUE),
        "default_branch": mostly(st.just("main"), JSON_VALUE), "web_url": mostly(ALERT_URL, NOT_STRING)}),
    commit=mostly(st.fixed_dictionaries({}, optional={
        "title": mostly(SAFE_TEXT, JSON_VALUE), "message": mostly(SAFE_TEXT, JSON_VALUE),
        "author": mostly(st.fixed_dictionaries({"name": mostly(SAFE_TEXT, JSON_VALUE)}), JSON_VALUE)}),
        JSON_VALUE),
    kind=mostly(st.just("pipeline"), JSON_VALUE),
    event=mostly(st.just("Pipeline Hook"), st.one_of(st.sampled_from(["pipeline hook", "Push Hook", None]),
                                                     st.text(alphabet=st.characters(min_codepoint=32,
                                                                                    max_codepoint=126),
                                                             max_size=10))),
    raw=RAW_BODY, auth=AUTH, content_type=CONTENT_TYPE)
async def test_gitlab_pipeline_hooks(fuzz_bot, caplog, attributes, project, commit, kind, event, raw, auth,
                                     content_type):
    body = json.loads(json.dumps(GITLAB))
    body["object_kind"] = kind
    body["object_attributes"].update(attributes)
    body["project"].update(project)
    body["commit"] = {**body["commit"], **commit} if isinstance(commit, dict) else commit
    headers = {"X-Gitlab-Event": event} if event is not None else {}
    await post_alert(fuzz_bot, caplog, "/alerts/gitlab", body, raw, auth, content_type, headers)


# -- the board, the feeds, /healthz, /metrics --------------------------------------------------------------------

PATH_TEXT = st.one_of(
    st.sampled_from(["1", "2", "3", "0", "-1", "01", "%00", "x1", "١", "%F0%9F%94%A5", "1%2F2", "..", "%2E%2E",
                     "payments", "payments", "Payments", "nope", "U0A", "U0B", "u0a", "%3Cscript%3E", *BIG_NUMBERS]),
    st.text(max_size=12).map(lambda s: quote(s, safe="")))
QUERY = st.dictionaries(
    st.sampled_from(["tz", "priority", "rotation", "token", "month", "x"]),
    st.one_of(st.sampled_from(["Asia/Tokyo", "UTC", "Mars/Base", "America", "Europe", "Asia/", "zone.tab",
                               "../../etc/passwd", "/etc/passwd", "P0", "P9", "2026-11", "2026-13", "2099-01",
                               "payments", "<script>alert(1)</script>", "\x00", "x" * 300, "x" * 2000]),
              st.text(max_size=10)), max_size=3)


def web_token(bot, kind: str, subject: str) -> str | None:
    secret = bot.runtime.settings.web_secret or ""
    now = bot.clock.now()
    return {
        "page": lambda: page_token(secret, now),
        "rotation": lambda: rotation_feed_token(secret, subject, 0),
        "person": lambda: person_feed_token(secret, subject, 0),
        "expired": lambda: page_token(secret, now - timedelta(hours=13)),
        "forged": lambda: sign("not-the-secret", {"k": "page", "exp": int(now.timestamp()) + 3600}),
        "mangled": lambda: page_token(secret, now)[:-2] + "xx",
        "none": lambda: None,
        "empty": lambda: "",
        "junk": lambda: "a.b.c",
        "other rotation": lambda: rotation_feed_token(secret, "other", 0),
        "old version": lambda: rotation_feed_token(secret, subject, 7),
    }[kind]()


PAGE = {"kind": "page", "method": "GET", "query": {}, "token_twice": False}


@SETTINGS
@example(place="incident", name="99999999999999999999", **PAGE)
@example(place="incident", name="9223372036854775808", **PAGE)
@example(place="incident", name="2147483648", **PAGE)
@example(place="incident", name="-1", **PAGE)
@example(place="incident", name="%00", **PAGE)
@example(place="incident", name="1", kind="page", method="GET", query={"tz": "x" * 2000}, token_twice=False)
@example(place="board", name="", kind="page", method="GET", query={"tz": "America"}, token_twice=False)
@example(place="board", name="", kind="page", method="GET", query={"tz": "../../etc/passwd",
                                                                    "rotation": "<script>alert(1)</script>"},
         token_twice=False)
@example(place="rotation", name="payments", kind="page", method="GET", query={"tz": "\x00"}, token_twice=False)
@example(place="rotation feed", name="payments", kind="rotation", method="GET", query={}, token_twice=False)
@example(place="rotation report", name="payments", kind="page", method="GET", query={"month": "2026-11"},
         token_twice=False)
@example(place="rotation report", name="payments", kind="page", method="GET", query={"month": "\x00"},
         token_twice=False)
@example(place="person feed", name="U0A", kind="person", method="GET", query={}, token_twice=False)
@example(place="person feed", name="%00", kind="person", method="GET", query={}, token_twice=False)
@example(place="board", name="", kind="expired", method="GET", query={}, token_twice=False)
@given(place=st.sampled_from(["board", "incident", "incident", "rotation", "rotation feed", "rotation report",
                              "person feed", "person", "healthz", "metrics", "root", "other"]),
       name=PATH_TEXT,
       kind=mostly(st.just("page"), st.sampled_from(["rotation", "person", "expired", "forged", "mangled", "none",
                                                     "empty", "junk", "other rotation", "old version"]), odds=2),
       method=mostly(st.just("GET"), st.sampled_from(["HEAD", "POST", "PUT", "DELETE", "OPTIONS"])),
       query=QUERY, token_twice=st.booleans())
async def test_board_feeds_health_and_metrics(fuzz_bot, caplog, place, name, kind, method, query, token_twice):
    bot = fuzz_bot
    name = quote(name, safe="%")  # a raw non-ASCII byte in a path is refused by the HTTP parser before the bot sees it
    path = {"board": "/board", "incident": f"/incidents/{name}", "rotation": f"/rotations/{name}",
            "rotation feed": f"/rotations/{name}.ics", "rotation report": f"/rotations/{name}/report.csv",
            "person feed": f"/people/{name}.ics",
            "person": f"/people/{name}", "healthz": "/healthz", "metrics": "/metrics", "root": "/",
            "other": f"/{name}"}[place]
    subject = unquote(name)
    token = web_token(bot, kind, subject)
    params = [(k, v) for k, v in query.items() if k != "token"]
    if token is not None:
        params.append(("token", token))
        if token_twice:
            params.append(("token", "forged.token"))
    url = URL(f"{bot.url}{path}" + (f"?{urlencode(params)}" if params else ""), encoded=True)
    watch = await Watch(bot, caplog).start()
    async with bot.slack.session.request(method, url) as response:
        status, text = response.status, await response.text(errors="replace")
    what = f"{method} {url.raw_path_qs[:300]} ({kind} token for {subject!r})"
    await watch.check(what, status, "", read_only=True, learns=("person",))  # a page writes only names it learnt
    asked = {call.method for call in bot.fake.calls[watch.calls:]}
    assert asked <= {"users.info"}, f"{what} made the bot call Slack: {asked}"
    if status == 200 and method == "GET" and place in ("board", "incident", "rotation", "rotation report"):
        assert kind == "page", f"{what} → 200 without a valid page link"
    if status == 200 and place == "rotation feed":
        assert kind == "rotation" and subject == "payments", f"{what} → 200 without this rotation's feed link"
    if status == 200 and place == "person feed":
        assert kind == "person", f"{what} → 200 without this person's feed link"
    if method == "GET" and "text/html" in response.headers.get("Content-Type", ""):
        assert "<script>" not in text, f"{what} reflected markup unescaped"
    if place in ("healthz", "metrics") and method == "GET":
        assert status == 200, f"{what} → {status}"


def ack_link_token(bot, kind: str, page: int, user: str) -> str:
    secret, now = bot.runtime.settings.web_secret or "", bot.clock.now()
    claims = {"k": "ack", "p": page, "u": user, "m": "sms", "exp": int(now.timestamp()) + 3600}
    return {
        "valid": lambda: sign(secret, claims),
        "expired": lambda: sign(secret, {**claims, "exp": int(now.timestamp()) - 1}),
        "forged": lambda: sign("not-the-secret", claims),
        "mangled": lambda: sign(secret, claims)[:-2] + "xx",
        "page link": lambda: page_token(secret, now),
        "odd method": lambda: sign(secret, {**claims, "m": "fax"}),
        "odd page": lambda: sign(secret, {**claims, "p": str(page)}),
        "junk": lambda: "a.b.c",
    }[kind]()


@FEW
@example(page=2**31, user="U0A", kind="valid", method="GET")
@example(page=2**63, user="U0A", kind="valid", method="POST")
@example(page=-1, user="U0A", kind="valid", method="POST")
@given(page=st.one_of(st.integers(min_value=1, max_value=4), st.integers(min_value=-(2**70), max_value=2**70)),
       user=USER,
       kind=mostly(st.just("valid"), st.sampled_from(["expired", "forged", "mangled", "page link", "odd method",
                                                      "odd page", "junk"]), odds=2),
       method=mostly(st.just("GET"), st.sampled_from(["POST", "HEAD", "PUT"]), odds=2))
async def test_ack_links(fuzz_bot, caplog, page, user, kind, method):
    """A page's one-click acknowledge link (SPEC §2 "Reaching people beyond Slack"): a GET never changes anything,
    a token the bot did not sign for that page and person is refused, nothing answers 5xx."""
    bot = fuzz_bot
    token = quote(ack_link_token(bot, kind, page, user), safe="")
    watch = await Watch(bot, caplog).start()
    async with bot.slack.session.request(method, f"{bot.url}/ack/{token}") as response:
        status = response.status
    what = f"{method} /ack/ ({kind} token for page {page} of {user})"
    await watch.check(what, status, "", read_only=method != "POST")
    if kind != "valid":
        assert status in (404, 405), f"{what} → {status}"


PD_PAYLOAD = mostly(st.fixed_dictionaries({}, optional={
    "summary": mostly(TITLE, JSON_VALUE, odds=6), "source": mostly(SAFE_TEXT, JSON_VALUE, odds=6),
    "severity": mostly(st.sampled_from(["critical", "error", "warning", "info", "CRITICAL"]), JSON_VALUE, odds=6),
    "custom_details": mostly(st.dictionaries(st.text(max_size=6), JSON_VALUE, max_size=3), JSON_VALUE),
    "component": JSON_VALUE}), JSON_VALUE, odds=8)


@SETTINGS
@given(body=mostly(st.fixed_dictionaries({
    "routing_key": mostly(st.just(ALERT_TOKEN), JSON_VALUE, odds=6),
    "event_action": mostly(st.sampled_from(["trigger", "acknowledge", "resolve"]), JSON_VALUE, odds=6)}, optional={
    "dedup_key": mostly(st.sampled_from(["k-1", "k-2"]), JSON_VALUE, odds=6), "payload": PD_PAYLOAD,
    "links": JSON_VALUE}), JSON_VALUE, odds=8), raw=RAW_BODY)
async def test_pagerduty_events(fuzz_bot, caplog, body, raw):
    data = raw.encode("utf-8", errors="surrogatepass") if raw is not None else json.dumps(body).encode()
    watch = await Watch(fuzz_bot, caplog).start()
    status, text, _ = await post_raw(fuzz_bot, "/v2/enqueue", data, {"Content-Type": "application/json"})
    await watch.check(f"POST /v2/enqueue {data[:600]!r}", status, text)
    answer = json.loads(text)
    assert (status, answer.get("status")) in ((202, "success"), (400, "invalid event")), (status, text[:300])


@SETTINGS
@given(body=mostly(st.fixed_dictionaries({"message": mostly(TITLE, JSON_VALUE, odds=6)}, optional={
    "alias": mostly(st.sampled_from(["a-1", "a-2"]), JSON_VALUE, odds=6),
    "priority": mostly(st.sampled_from(["P1", "P3", "P5"]), JSON_VALUE, odds=6),
    "tags": mostly(st.lists(SAFE_TEXT, max_size=3), JSON_VALUE), "details": JSON_VALUE,
    "description": mostly(SAFE_TEXT, JSON_VALUE)}), JSON_VALUE, odds=8), raw=RAW_BODY,
    action=st.sampled_from(["", "/a-1/close?identifierType=alias", "/a-1/acknowledge?identifierType=alias",
                            "/a-2/close?identifierType=nope"]))
async def test_opsgenie_alerts(fuzz_bot, caplog, body, raw, action):
    data = raw.encode("utf-8", errors="surrogatepass") if raw is not None else json.dumps(body).encode()
    watch = await Watch(fuzz_bot, caplog).start()
    headers = {"Content-Type": "application/json", "Authorization": f"GenieKey {ALERT_TOKEN}"}
    status, text, _ = await post_raw(fuzz_bot, f"/v2/alerts{action}", data, headers)
    await watch.check(f"POST /v2/alerts{action} {data[:600]!r}", status, text)
    answer = json.loads(text)
    assert status in (202, 413, 415, 422) and answer["requestId"], (status, text[:300])
