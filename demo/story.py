"""The story `make demo` plays: a payments rotation, bob's phone added as a push contact (verified by the code it
receives), a P0 declared through `/incident` and its form, the first page reaching bob by DM and on his phone and
acknowledged from the phone's link (opened first, which changes nothing, then its button), an update, the
resolution with an incident analysis, and the web board's link."""

from __future__ import annotations

import re

from bot.domain.incident import Impact
from bot.slack.ids import BlockId, CallbackId
from demo.workspace import STEP_TIMEOUT, Demo, DemoError

TITLE = "Checkout returns 500 for EU users"
BOB_DM = "DU0BOB"  # bob types his `me` commands in his DM with the bot
PHONE_TOPIC = "bob-phone"  # the ntfy topic bob's phone listens to: his push address
LINK = re.compile(r"https?://\S+/ack/\S+")


def _opened(calls: list[dict], callback_id: str) -> dict | None:
    """The last form the bot opened with this callback id (its `views.open` call, answered)."""
    found = [c for c in calls if c["method"] == "views.open" and (c.get("answer") or {}).get("ok")
             and c["args"]["view"].get("callback_id") == callback_id]
    return found[-1] if found else None


def _posted_to(calls: list[dict], user: str, block_id: str) -> dict | None:
    """The last message the bot posted to `user` by DM carrying a block `block_id`."""
    found = [c for c in calls if c["method"] == "chat.postMessage" and (c.get("answer") or {}).get("ok")
             and c["args"].get("channel") in (user, "D" + user)
             and any(b.get("block_id") == block_id for b in c["args"].get("blocks") or [])]
    return found[-1] if found else None


def _created_channel(calls: list[dict]) -> str | None:
    found = [c["answer"]["channel"]["id"] for c in calls
             if c["method"] == "conversations.create" and (c.get("answer") or {}).get("ok")]
    return found[-1] if found else None


def _analysis_posted(calls: list[dict], channel: str) -> bool:
    return any(c["method"] == "chat.postMessage" and c["args"].get("channel") == channel
               and "analysis" in str(c["args"].get("text") or "").lower() for c in calls)


def _answered(demo: Demo, expected: str) -> None:
    """The bot's answer to the last thing typed holds `expected`; else the story cannot go on."""
    answer = next((e.text for e in reversed(demo.entries) if e.kind == "answer"), "")
    if expected not in answer:
        raise DemoError(f"expected the bot to answer {expected!r}, it said: {answer[:300]!r}")


async def add_phone(demo: Demo) -> None:
    """bob adds his phone as a push contact, sends back the code it received, and asks to be paged on it at once
    (and in Slack, as before)."""
    demo.progress("bob adds his phone for pages beyond Slack")
    await demo.type("U0BOB", BOB_DM, f"me contact add push {PHONE_TOPIC}")
    _answered(demo, "I sent a 6-digit code")
    await demo.settle()
    push = await demo.phone.wait_for(lambda push: re.search(r"\b\d{6}\b", push.text) is not None, STEP_TIMEOUT)
    if push is None:
        raise DemoError(f"no code reached bob's phone within {STEP_TIMEOUT:.0f} s (the bot's log: bot.log)")
    code = re.search(r"\b(\d{6})\b", push.text)[1]  # type: ignore[index]
    await demo.type("U0BOB", BOB_DM, f"me contact verify {code}")
    _answered(demo, "is verified")
    await demo.type("U0BOB", BOB_DM, "me rules slack 0, push 0")
    await demo.settle()


async def acknowledge_from_phone(demo: Demo, number: int) -> None:
    """bob opens the page's link from the push (a GET: the demo checks Slack heard nothing of it), then presses the
    page's button (its form's POST), and waits for the incident's channel to say so."""
    ref = f"INC-{number}"
    push = await demo.phone.wait_for(lambda push: ref in push.title + push.text and LINK.search(push.text)
                                     is not None, STEP_TIMEOUT)
    if push is None:
        raise DemoError(f"the page for {ref} did not reach bob's phone within {STEP_TIMEOUT:.0f} s")
    link = LINK.search(push.text)[0]  # type: ignore[index]
    assert demo.session is not None

    demo.progress("bob opens the link on his phone")
    before = len(await demo.settle())  # (whatever the push's sending made the bot say, said before the GET)
    await demo.aside("U0BOB", BOB_DM, "leaves [Acknowledge] alone: he acknowledges from the push on his phone, below")
    opened = await demo.phone.open(demo.session, link)
    calls = await demo.settle()
    since = calls[before:]
    if any("acknowledged" in str(c["args"].get("text") or "") for c in since):
        raise DemoError("opening the link acknowledged the page: a GET must change nothing")
    demo.phone.events[-1].note = ("it changed nothing: the bot said nothing in Slack meanwhile" if not since else
                                  f"nothing was acknowledged (Slack got only {', '.join(c['method'] for c in since)})")
    if opened.form_action is None:
        raise DemoError(f"the link's page has no button: {opened.heading!r} {opened.paragraphs!r}")

    demo.progress(f"bob presses [{opened.button}]")
    done = await demo.phone.press(demo.session, link, opened)
    if demo.phone.events[-1].status != 200:
        raise DemoError(f"pressing the link's button answered {demo.phone.events[-1].status}: {done.paragraphs!r}")
    await demo.settle(lambda calls: any("via push link" in str(c["args"].get("text") or "") for c in calls))


async def incident(demo: Demo) -> None:
    demo.progress("carol sets up the payments rotation")
    await demo.type("U0CAROL", "C0PAYMENTS", "rotation create payments <#C0PAYMENTS|payments-firefighters>")
    await demo.type("U0CAROL", "C0PAYMENTS", "rotation add payments <@U0BOB|bob> <@U0CAROL|carol>")
    await demo.settle()
    await add_phone(demo)

    demo.progress("alice declares a P0")
    await demo.type("U0ALICE", "C0GENERAL", f"declare {TITLE}")
    calls = await demo.settle(lambda calls: _opened(calls, CallbackId.DECLARE_MODAL) is not None)
    form = _opened(calls, CallbackId.DECLARE_MODAL)
    assert form is not None
    await demo.submit("U0ALICE", "C0GENERAL", form, {
        BlockId.IMPACT: [Impact.CANNOT_USE_SERVICE], BlockId.PRIORITY: "P0",
        BlockId.DESCRIPTION: "500s on /checkout since 09:12, only eu-west. Started with release 4.18."})
    calls = await demo.settle(lambda calls: _posted_to(calls, "U0BOB", BlockId.PAGE_ACTIONS) is not None
                              and _created_channel(calls) is not None)
    channel = _created_channel(calls)
    page = _posted_to(calls, "U0BOB", BlockId.PAGE_ACTIONS)
    assert channel is not None and page is not None

    await acknowledge_from_phone(demo, 1)

    demo.progress("bob posts an update")
    await demo.type("U0BOB", channel, "update Rolled back to release 4.17; EU error rate is falling")
    await demo.settle()

    demo.progress("bob resolves it")
    await demo.type("U0BOB", channel, "resolve")
    calls = await demo.settle(lambda calls: _opened(calls, CallbackId.RESOLVE_MODAL) is not None)
    form = _opened(calls, CallbackId.RESOLVE_MODAL)
    assert form is not None
    await demo.submit("U0BOB", channel, form, {
        BlockId.RESOLVE_SUMMARY: "Release 4.18 broke the EU payment provider's callback; rolled back to 4.17.",
        BlockId.ROLLBACK: "yes",
        BlockId.FOLLOW_UPS: "Contract test for the EU provider's callback\nCanary releases for checkout"})
    await demo.settle(lambda calls: _analysis_posted(calls, channel))

    demo.progress("alice asks for the board")
    await demo.type("U0ALICE", "C0GENERAL", "board")
    await demo.settle()
    if not any(e.kind == "answer" and "/board" in e.text for e in demo.entries):
        raise DemoError("the bot gave no board link")
