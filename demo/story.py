"""The story `make demo` plays: a payments rotation, a P0 declared through `/incident` and its form, the first page
acknowledged with its button, an update, the resolution with an incident analysis, and the web board's link."""

from __future__ import annotations

from bot.domain.incident import Impact
from bot.slack.ids import ActionId, BlockId, CallbackId
from demo.workspace import Demo, DemoError

TITLE = "Checkout returns 500 for EU users"


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


async def incident(demo: Demo) -> None:
    demo.progress("carol sets up the payments rotation")
    await demo.type("U0CAROL", "C0PAYMENTS", "rotation create payments <#C0PAYMENTS|payments-firefighters>")
    await demo.type("U0CAROL", "C0PAYMENTS", "rotation add payments <@U0BOB|bob> <@U0CAROL|carol>")
    await demo.settle()

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

    demo.progress("bob acknowledges the page")
    await demo.click("U0BOB", page, ActionId.PAGE_ACKNOWLEDGE)
    await demo.settle()

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
