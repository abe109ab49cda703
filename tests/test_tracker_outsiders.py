"""The tracker bridge held against outsiders (SPEC §5): an issue planted under the bot's title is never adopted
(GitHub and GitLab), and a webhook body replayed under a new delivery id — or any event older than what was applied
or than the bot's own change of the issue — changes nothing."""

from __future__ import annotations

from sqlmodel import delete, select

from bot.db.edge_models import TrackerIssue, TrackerState
from tests.test_tracker_bridge import deliver
from tests.trackers import Side, moment


async def test_after_an_unclear_answer_only_the_bots_own_issue_is_adopted(tracked, side: Side):
    """Anyone can open `INC-1: …` in a public repository, marker and all: after an unclear answer to opening the
    issue, the bot adopts only one its own account opened with its marker in the body, never a planted one —
    whose closing would otherwise resolve the incident."""
    bot = tracked
    planted = side.fake.add_issue("INC-1: Checkout is down", ["incident", "P1", "firefighter"],
                                  body="**INC-1**\n\n<!-- firefighter:INC-1 -->", author="mallory")
    by_hand = side.fake.add_issue("INC-1: Checkout is down", ["incident"], body="Opened by hand with the bot's token",
                                  author=side.fake.login)
    side.fake.fail(503, method="POST", path_contains="/issues")  # the first attempt's answer says nothing sure
    await bot.declare("Checkout is down", priority="P1", user="U0A")
    await deliver(bot, 3)
    with bot.session() as s:
        link = s.exec(select(TrackerIssue)).one()
    assert link.number not in (planted["number"], by_hand["number"])
    ours = side.fake.issues[link.number]
    assert ours["author"] == side.fake.login and "<!-- firefighter:INC-1 -->" in ours["body"]
    planted["state"] = "closed"
    status, answer = await side.send(bot, side.event("closed", planted, sender="mallory"))
    assert (status, answer["did"]) == (202, "ignored") and bot.incidents()[0].status != "resolved"


async def test_the_bots_own_issue_whose_answer_was_lost_is_adopted_not_doubled_even_before_it_knows_itself(
        tracked, side: Side):
    """Who the bot is there is asked before looking (it was unknown: the tracker was down at start-up)."""
    bot = tracked
    with bot.session() as s:
        s.exec(delete(TrackerState))
        s.commit()
    side.fake.add_issue("INC-1: Checkout is down", [], body="<!-- firefighter:INC-1 -->", author="mallory")
    side.fake.fail(-502, method="POST", path_contains="/issues")  # made, and the answer lost
    await bot.declare("Checkout is down", priority="P1", user="U0A")
    await deliver(bot, 3)
    [ours] = [i for i in side.fake.issues.values() if i["author"] == side.fake.login]
    with bot.session() as s:
        assert s.exec(select(TrackerIssue)).one().number == ours["number"]
        assert s.get(TrackerState, side.name).login == side.fake.login


async def test_a_replayed_close_never_resolves_again_what_slack_reopened(tracked, side: Side):
    """Neither tracker's signature carries a time: a captured `closed` body replayed under a new delivery id is
    no newer than what was applied, before the bot's reopening reaches the tracker and after."""
    bot = tracked
    issue = side.fake.add_issue("Queue stuck", ["firefighter", "P1"])
    await side.send(bot, side.event("opened", issue))
    await bot.settle()
    await deliver(bot)
    issue["state"] = "closed"
    closed = side.event("closed", issue, sender="alice")
    assert (await side.send(bot, closed))[1]["did"] == "resolved"
    side.fake.down()
    status, body, _ = await bot.slack.command("reopen INC-1 Still failing", user="U0A")
    assert status == 200 and bot.incidents()[0].status != "resolved", body
    status, answer = await side.send(bot, closed)  # the same signed body, a new delivery id
    assert (status, answer["did"]) == (202, "ignored") and "older event" in answer["reason"]
    assert bot.incidents()[0].status != "resolved"
    side.fake.recover()
    await deliver(bot, 3)
    assert issue["state"] == "open"
    status, answer = await side.send(bot, closed)
    assert (status, answer["did"]) == (202, "ignored") and bot.incidents()[0].status != "resolved"


async def test_an_event_older_than_the_bots_own_change_of_the_issue_changes_nothing(tracked, side: Side):
    """An event never delivered (the bot was down, or it is replayed from elsewhere) from before the bot's own
    change of the issue: the tracker's answer to that change dates it, and the event is older."""
    bot = tracked
    await bot.declare("Checkout is down", priority="P1", user="U0A")
    await deliver(bot)
    [issue] = side.fake.issues.values()
    issue["labels"] = ["incident", "P0", "firefighter"]
    issue["updated_at"] = moment()
    raised = side.event("labeled", issue, sender="alice", updated_at=issue["updated_at"])  # lost on its way
    status, body, _ = await bot.slack.command("status INC-1 in_progress", user="U0A")
    assert status == 200, body
    await deliver(bot, 1)
    assert "P1" in issue["labels"] and "P0" not in issue["labels"]  # the incident's priority, as it is
    status, answer = await side.send(bot, raised)
    assert (status, answer["did"]) == (202, "ignored") and bot.incidents()[0].priority == "P1"

    # Closed on the tracker (its event lost too), then resolved and reopened in Slack while the tracker is down:
    # the resolution found the issue closed already, and that reading dates it.
    issue["state"], issue["updated_at"] = "closed", moment()
    closed = side.event("closed", issue, sender="alice", updated_at=issue["updated_at"])
    status, body, _ = await bot.slack.command("status INC-1 resolved Rolled back", user="U0A")
    assert status == 200 and bot.incidents()[0].status == "resolved", body
    await deliver(bot, 1)
    side.fake.down()
    status, body, _ = await bot.slack.command("reopen INC-1 Still failing", user="U0A")
    assert status == 200, body
    status, answer = await side.send(bot, closed)
    assert (status, answer["did"]) == (202, "ignored") and bot.incidents()[0].status != "resolved"


async def test_a_delivery_id_of_bytes_that_are_not_utf8_is_taken_not_a_500(tracked, side: Side):
    """X-GitHub-Delivery / X-Gitlab-Event-UUID are only an id to us: bytes that are not UTF-8 in them (aiohttp
    refuses NUL itself) still make an id, and a correctly signed event is applied once."""
    import json

    from tests.test_fuzz_http_headers import raw_request

    bot = tracked
    issue = side.fake.add_issue("Queue stuck", ["firefighter", "P1"])
    raw = json.dumps(side.event("opened", issue)).encode()
    headers = [(name.encode(), value.encode()) for name, value in side.signed(raw).items()
               if name not in ("X-GitHub-Delivery", "X-Gitlab-Event-UUID")]
    header = b"X-GitHub-Delivery" if side.name == "github" else b"X-Gitlab-Event-UUID"
    status, text = await raw_request(bot, "POST", f"/webhooks/{side.name}", [*headers, (header, b"\xffd-\xe9-1")],
                                     raw)
    assert status == 202 and json.loads(text)["did"] == "declared", text
    status, text = await raw_request(bot, "POST", f"/webhooks/{side.name}", [*headers, (header, b"\xff\xfe")], raw)
    assert status == 202 and json.loads(text)["did"] != "declared", "the same body again is the same delivery"
    assert len(bot.incidents()) == 1
