"""The HTTP fuzz suite's header half (tests/test_fuzz_http.py fuzzes bodies): every endpoint gets the headers that
authenticate or describe a request as raw BYTES — non-ASCII, not UTF-8, near-misses of the right value — sent over a
plain socket (aiohttp's client refuses headers it cannot encode as latin-1). Whatever they hold, the answer is 2xx
or 4xx, never 5xx, nothing is logged as an error, and a 4xx changes no stored row.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from yarl import URL

from bot.http.session import FLOW_COOKIE, SESSION_COOKIE, new_session
from bot.http.tokens import page_token
from tests.conftest import SECRET
from tests.test_fuzz_http import ALERT_TOKEN, SETTINGS, Quiet, Watch, mostly
from tests.test_paging import with_rotation

HOOK_SECRET = "fuzz-hook-secret"
NOWHERE = "http://127.0.0.1:9"  # the trackers' APIs: never reached by these requests (no issue is ever opened)


async def raw_request(bot, method: str, path: str, headers: list[tuple[bytes, bytes]],
                      body: bytes = b"") -> tuple[int, str]:
    """One HTTP/1.1 request written byte for byte; the status and body of the answer."""
    url = URL(bot.url)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        head = [f"{method} {path} HTTP/1.1".encode(), f"Host: {url.host}:{url.port}".encode(),
                b"Connection: close", b"Content-Length: %d" % len(body), *(n + b": " + v for n, v in headers)]
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split(b" ")[1]), rest.partition(b"\r\n\r\n")[2].decode(errors="replace")


def slack_signed(body: bytes) -> tuple[bytes, bytes]:
    ts = str(int(time.time())).encode()
    return ts, b"v0=" + hmac.new(SECRET.encode(), b"v0:" + ts + b":" + body, hashlib.sha256).hexdigest().encode()


# A header value: bytes a client may send, alone or spoiling the right value.
JUNK = st.one_of(
    st.sampled_from([b"\xc3\xa9\xc3\xa9", b"\xe9\xe9", b"\xff\xfe", b"\x80", b"\xed\xa0\x80", b"\xf0\x9f\x94\xa5",
                     b"\xc3", b" ", b"\t", b"\x00", b"\x7f", b"=", b";", b",", b"\"", b"Bearer", b"sha256=", b""]),
    st.binary(max_size=12), st.text(max_size=8).map(lambda s: s.encode("utf-8", "surrogatepass")))
AROUND = st.sampled_from(["replace", "prefix", "suffix", "inside", "same"])


def spoiled(right: bytes, junk: bytes, how: str) -> bytes:
    value = {"replace": junk, "prefix": junk + right, "suffix": right + junk, "same": right,
             "inside": right[: len(right) // 2] + junk + right[len(right) // 2:]}[how]
    return value.replace(b"\r", b"").replace(b"\n", b"")  # a line break would only end the header early


PLACES = ["slack", "alerts generic", "alerts gitlab", "alerts alertmanager", "heartbeat post", "heartbeat get",
          "github", "gitlab", "board", "incident", "healthz", "metrics", "person feed", "act", "logout", "callback"]


def a_session(bot) -> str:
    """A signed-in session as the sign-in leaves it (a server-side row; the cookie carries its id)."""
    row = new_session("U0A", "A", "T111", bot.clock.now())
    with bot.session() as s:
        s.add(row)
        s.commit()
    return row.id


def request_for(bot, place: str) -> tuple[str, str, dict[bytes, bytes], bytes]:
    """The endpoint's method and path, the headers it reads set to their RIGHT values, and a body that refuses
    (so a right header changes nothing either: these requests are about headers)."""
    secret = bot.runtime.settings.web_secret or ""
    now = bot.clock.now()
    session = f"{SESSION_COOKIE}={a_session(bot)}".encode()
    bearer = f"Bearer {ALERT_TOKEN}".encode()
    if place == "slack":
        body = b"ssl_check=1&token=x&command=%2Fincident&text=list"
        ts, signature = slack_signed(body)
        return "POST", "/slack/events", {b"Content-Type": b"application/x-www-form-urlencoded",
                                         b"X-Slack-Request-Timestamp": ts, b"X-Slack-Signature": signature}, body
    if place.startswith("alerts"):
        kind = place.split()[1]
        headers = {b"Content-Type": b"application/json", b"Authorization": bearer}
        if kind == "gitlab":
            headers[b"X-Gitlab-Token"] = ALERT_TOKEN.encode()
            headers[b"X-Gitlab-Event"] = b"Pipeline Hook"
        return "POST", f"/alerts/{kind}", headers, b"{}"
    if place.startswith("heartbeat"):
        return place.split()[1].upper(), "/heartbeats/nightly-backup", {b"Authorization": bearer}, b""
    if place == "github":
        body = b"{}"
        digest = hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest().encode()
        return "POST", "/webhooks/github", {b"Content-Type": b"application/json", b"X-GitHub-Event": b"issues",
                                            b"X-Hub-Signature-256": b"sha256=" + digest,
                                            b"X-GitHub-Delivery": b"d-1"}, body
    if place == "gitlab":
        return "POST", "/webhooks/gitlab", {b"Content-Type": b"application/json", b"X-Gitlab-Event": b"Issue Hook",
                                            b"X-Gitlab-Token": HOOK_SECRET.encode(),
                                            b"X-Gitlab-Event-UUID": b"u-1"}, b"{}"
    if place in ("board", "incident", "healthz", "metrics", "person feed"):
        path = {"board": "/board", "incident": "/incidents/1", "healthz": "/healthz", "metrics": "/metrics",
                "person feed": "/people/U0A.ics"}[place]
        return "GET", f"{path}?token={page_token(secret, now)}", {b"Cookie": session}, b""
    if place in ("act", "logout"):
        csrf = b"not-this-session-s-token"
        path = "/board/act" if place == "act" else "/auth/logout"
        return "POST", path, {b"Cookie": session, b"X-CSRF-Token": csrf, b"Content-Type": b"application/json"}, b"{}"
    return "GET", "/auth/slack/callback?state=x&code=y", {b"Cookie": FLOW_COOKIE.encode() + b"=a.b"}, b""


@pytest.fixture
async def header_fuzz_bot(make_bot):
    """Every endpoint switched on: alerts, heartbeats, both trackers' webhooks, Sign in with Slack."""
    bot = await make_bot(public=True, alerts_token=ALERT_TOKEN, github_repo="acme/shop", github_token="t",
                         github_api_url=NOWHERE, github_webhook_secret=HOOK_SECRET, gitlab_project="acme/shop",
                         gitlab_token="t", gitlab_url=NOWHERE, gitlab_webhook_token=HOOK_SECRET,
                         slack_client_id="1.2", slack_client_secret="client-secret")
    await with_rotation(bot)
    return Quiet(bot)


@settings(SETTINGS, max_examples=60)
@example(place="github", header=b"X-Hub-Signature-256", junk=b"\xc3\xa9\xc3\xa9", how="suffix")
@example(place="github", header=b"X-Hub-Signature-256", junk=b"sha256=\xc3\xa9\xc3\xa9", how="replace")
@example(place="alerts generic", header=b"Authorization", junk=b"\xff\xfe", how="suffix")
@example(place="heartbeat post", header=b"Authorization", junk=b"\xe9", how="suffix")
@example(place="alerts gitlab", header=b"X-Gitlab-Token", junk=b"\xc3\xa9", how="replace")
@example(place="gitlab", header=b"X-Gitlab-Token", junk=b"\xff", how="inside")
@example(place="board", header=b"Cookie", junk=b"\xff", how="suffix")
@example(place="act", header=b"X-CSRF-Token", junk=b"\xc3\xa9", how="replace")
@example(place="slack", header=b"X-Slack-Signature", junk=b"\xff", how="suffix")
@example(place="github", header=b"X-GitHub-Delivery", junk=b"\xff\x00", how="replace")
@given(place=st.sampled_from(PLACES), header=st.sampled_from(
    [b"Authorization", b"X-Gitlab-Token", b"X-Hub-Signature-256", b"X-Slack-Signature", b"X-Slack-Request-Timestamp",
     b"Cookie", b"X-CSRF-Token", b"Content-Type", b"X-GitHub-Event", b"X-GitHub-Delivery", b"X-Gitlab-Event",
     b"X-Gitlab-Event-UUID"]), junk=JUNK, how=mostly(AROUND, st.just("replace"), odds=2))
async def test_header_bytes_on_every_endpoint(header_fuzz_bot, caplog, place, header, junk, how):
    bot = header_fuzz_bot
    method, path, headers, body = request_for(bot, place)
    headers[header] = spoiled(headers.get(header, b""), junk, how)
    watch = await Watch(bot, caplog).start()
    status, text = await raw_request(bot, method, path, list(headers.items()), body)
    await watch.check(f"{method} {path} with {header.decode()}: {headers[header]!r}", status, "")
    assert status < 500, text[:300]
