"""The issue tracker bridge end to end, on GitHub and on GitLab (fakes of their REST APIs beside the fake Slack):
incidents out as labelled issues kept in step, issues in as incidents that page, through the one delivery engine —
a tracker down for ten minutes delays and never loses or doubles anything."""

from __future__ import annotations

import asyncio
import json
import time

from sqlmodel import delete, func, select

from bot.db.edge_models import TrackerIssue, TrackerState
from bot.db.models import Incident, TimelineEvent
from tests.test_paging import dms_to, with_rotation
from tests.test_self_watch import details_link, stranger_health
from tests.trackers import Side, moment, start_side


async def deliver(bot, ticks: int = 2) -> None:
    """A few ticks, a few seconds apart: what waited for the incident's channel goes out."""
    for _ in range(ticks):
        await bot.tick(seconds=6)


def events_of(bot, kind: str | None = None) -> list[TimelineEvent]:
    with bot.session() as s:
        query = select(TimelineEvent).order_by(TimelineEvent.id)
        return [e for e in s.exec(query) if kind is None or e.kind == kind]


def count(bot, model) -> int:
    with bot.session() as s:
        return s.exec(select(func.count()).select_from(model)).one()


def issue_writes(side: Side, suffix: str = "/issues") -> list:
    return [c for c in side.fake.writes() if c.method == "POST" and c.path.endswith(suffix)]


async def health(bot) -> dict:
    async with bot.slack.session.get(details_link(bot)) as response:
        return await response.json()


# -- out: an incident becomes an issue ---------------------------------------------------------------------------


async def test_a_p0_declared_in_slack_becomes_a_labelled_issue_kept_in_step_and_closed_when_resolved(
        tracked, side: Side):
    bot = tracked
    incident = await bot.declare("Checkout is down", priority="P0", user="U0A", description="Card payments fail")
    await deliver(bot)
    incident = bot.incidents()[0]
    [issue] = side.fake.issues.values()
    assert issue["title"] == "INC-1: Checkout is down"
    assert issue["labels"] == ["incident", "P0", "firefighter"]
    assert "Card payments fail" in issue["body"]
    assert f"https://slack.com/app_redirect?channel={incident.channel_id}" in issue["body"]
    url = side.url_of(issue["number"])
    assert any(url in e.text and side.title in e.text for e in events_of(bot, "tracker"))
    summaries = [c for c in bot.fake.calls_to("chat.update") if c["channel"] == incident.channel_id]
    assert url in json.dumps(summaries[-1]["blocks"]), "the pinned summary links the issue"

    for text in ("update INC-1 Failing over to the replica", "status INC-1 in_progress"):
        status, body, _ = await bot.slack.command(text, user="U0A")
        assert status == 200, body
    await deliver(bot, 1)
    assert any("Failing over to the replica" in c for c in side.fake.comments[issue["number"]])
    assert "status: in progress" in issue["labels"] and issue["state"] == "open"

    status, body, _ = await bot.slack.command("status INC-1 resolved The replica took over", user="U0A")
    assert status == 200, body
    await deliver(bot, 1)
    assert issue["state"] == "closed"
    if side.name == "github":
        assert issue["state_reason"] == "completed"
    comments = side.fake.comments[issue["number"]]
    assert any("resolved" in c and "The replica took over" in c for c in comments)
    assert any("Incident analysis draft" in c for c in comments), "a P0's analysis draft goes to the issue too"
    assert "status: in progress" not in issue["labels"]

    status, body, _ = await bot.slack.command("reopen INC-1 It is back", user="U0A")
    assert status == 200, body
    await deliver(bot, 1)
    assert issue["state"] == "open"
    assert len(issue_writes(side)) == 1, "one issue, however many changes"
    assert len(side.fake.issues) == 1


async def test_priority_changes_relabel_the_issue_and_p2_work_never_gets_one(tracked, side: Side):
    bot = tracked
    await bot.declare("Slow dashboards", priority="P2", user="U0A")
    await deliver(bot)
    assert side.fake.issues == {}, "P2 is ordinary work: not the firefighters' queue"
    status, body, _ = await bot.slack.command("priority INC-1 P1", user="U0A")
    assert status == 200, body
    await deliver(bot)
    [issue] = side.fake.issues.values()
    assert issue["labels"] == ["incident", "P1", "firefighter"]
    issue["labels"].append("area: dashboards")  # someone labels it by hand
    for text in ("priority INC-1 P0", "priority INC-1 P2"):
        status, body, _ = await bot.slack.command(text, user="U0A")
        assert status == 200, body
    await deliver(bot, 1)
    assert set(issue["labels"]) == {"incident", "P2", "area: dashboards"}, "people's labels stay; the queue goes"
    assert len(side.fake.issues) == 1


async def test_the_tracker_down_for_ten_minutes_delays_everything_and_loses_or_doubles_nothing(tracked, side: Side):
    bot = tracked
    side.fake.down()
    await bot.declare("Checkout is down", priority="P0", user="U0A")
    for text in ("update INC-1 Still looking", "status INC-1 resolved Restarted the pods"):
        status, body, _ = await bot.slack.command(text, user="U0A")
        assert status == 200, body
    for _ in range(20):  # ten minutes of ticks
        await bot.tick(seconds=30)
    incident = bot.incidents()[0]
    assert incident.channel_id and incident.status == "resolved", "Slack's side never waited for the tracker"
    assert side.fake.issues == {} and len(side.fake.calls) > 5
    owed = (await health(bot))["trackers"][side.name]
    assert owed["queued"] >= 3 and owed["state"] == "ok", owed

    side.fake.recover()
    await bot.tick(seconds=30)
    await deliver(bot, 1)
    [issue] = side.fake.issues.values()
    assert issue["state"] == "closed"
    comments = side.fake.comments[issue["number"]]
    assert sum(c.startswith("**Update on INC-1**") and "Still looking" in c for c in comments) == 1
    assert sum(c.startswith("**INC-1 resolved**") for c in comments) == 1
    assert sum(c.startswith("## Incident analysis draft") for c in comments) == 1
    assert len(comments) == 3
    assert (await health(bot))["trackers"][side.name]["queued"] == 0


async def test_an_answer_lost_after_the_tracker_acted_does_not_double_the_issue_or_a_comment(tracked, side: Side):
    bot = tracked
    side.fake.fail(-502, method="POST", path_contains="/issues")  # the issue is made, the answer says 502
    await bot.declare("Checkout is down", priority="P1", user="U0A")
    await deliver(bot, 3)
    assert len(side.fake.issues) == 1
    [issue] = side.fake.issues.values()
    with bot.session() as s:
        assert s.exec(select(TrackerIssue)).one().number == issue["number"]
    side.fake.fail(-502, method="POST", path_contains="/notes" if side.name == "gitlab" else "/comments")
    status, body, _ = await bot.slack.command("update INC-1 Found it", user="U0A")
    assert status == 200, body
    await deliver(bot, 3)
    assert sum("Found it" in c for c in side.fake.comments[issue["number"]]) == 1


async def test_rate_limits_are_honoured_to_the_second_the_tracker_names(tracked, side: Side):
    bot = tracked
    if side.name == "github":  # the hourly quota used up: 403 with the reset time
        side.fake.fail(403, method="POST", headers={"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0",
                                                    "x-ratelimit-reset": str(int(time.time()) + 120)})
    else:
        side.fake.fail(429, method="POST", headers={"Retry-After": "120"})
    await bot.declare("Checkout is down", priority="P1", user="U0A")
    await deliver(bot, 2)
    tried = len([c for c in side.fake.calls if c.method == "POST"])
    assert tried == 1 and side.fake.issues == {}
    for _ in range(3):  # 90 more seconds: still inside what the tracker asked for
        await bot.tick(seconds=30)
    assert len([c for c in side.fake.calls if c.method == "POST"]) == 1
    await bot.tick(seconds=30)
    await bot.tick(seconds=30)
    assert len(side.fake.issues) == 1


async def test_a_refusal_for_good_shows_on_the_timeline_and_in_healthz_and_stops_nothing_else(make_bot, side: Side):
    bot = await make_bot(**side.settings(**{f"{side.name}_token": "wrong-token"}))
    await with_rotation(bot)
    await bot.declare("Checkout is down", priority="P0", user="U0A")
    await deliver(bot)
    incident = bot.incidents()[0]
    assert incident.channel_id and dms_to(bot, "U0A"), "the channel and the page went out all the same"
    [note] = events_of(bot, "tracker")
    assert f"{side.title} refused to open an issue" in note.text and "401" in note.text
    report = (await health(bot))["trackers"][side.name]
    assert report["state"] == "refused" and "401" in report["error"] and report["failed"] == 1
    _, public, text = await stranger_health(bot)  # a stranger learns that the tracker refuses, not why or as whom
    assert public["trackers"] == {side.name: "refused"} and "401" not in text and "error" not in text, text
    status, body, _ = await bot.slack.command("update INC-1 Still on it", user="U0A")
    assert status == 200, body
    await deliver(bot, 1)
    assert (await health(bot))["outbox"]["queued"] == 0, "what needs the issue is dropped, not retried forever"
    assert side.fake.issues == {}


# -- in: an issue becomes an incident ----------------------------------------------------------------------------


async def test_an_issue_labelled_into_the_queue_becomes_an_incident_that_pages_linked_both_ways(tracked, side: Side):
    bot = tracked
    issue = side.fake.add_issue("Deploys are failing", ["bug"], body="CI cannot push images")
    status, answer = await side.send(bot, side.event("opened", issue))
    assert (status, answer.get("did")) == (202, "ignored") and "not in the queue" in answer["reason"]
    assert bot.incidents() == []

    issue["labels"] += ["firefighter", "priority: P1"]
    status, answer = await side.send(bot, side.event("labeled", issue))
    assert (status, answer) == (202, {"incident": "INC-1", "did": "declared"})
    await bot.settle()
    await deliver(bot)
    [incident] = bot.incidents()
    assert (incident.source, incident.priority, incident.title) == (side.name, "P1", "Deploys are failing")
    assert incident.description == "CI cannot push images" and incident.rotation_id is not None
    assert dms_to(bot, "U0A"), "the primary is paged as for any incident"
    [comment] = side.fake.comments[issue["number"]]
    assert "Declared as **INC-1**" in comment and f"app_redirect?channel={incident.channel_id}" in comment
    assert len(side.fake.issues) == 1, "no second issue for an incident that came from one"
    summaries = [c for c in bot.fake.calls_to("chat.postMessage") + bot.fake.calls_to("chat.update")
                 if c["channel"] == incident.channel_id and c.get("blocks") and "header" in json.dumps(c["blocks"])]
    assert f"{side.title} issue #{issue['number']}" in json.dumps(summaries[-1]["blocks"]), "the summary links it"


async def test_one_incident_per_issue_whatever_the_redeliveries(tracked, side: Side):
    bot = tracked
    issue = side.fake.add_issue("Login broken", ["firefighter", "P0"])
    body = side.event("opened", issue)
    answers = await asyncio.gather(*(side.send(bot, body, delivery="same-delivery") for _ in range(5)),
                                   *(side.send(bot, side.event("edited", issue)) for _ in range(5)))
    assert all(status == 202 for status, _ in answers), answers
    assert sum(answer.get("did") == "declared" for _, answer in answers) == 1, answers
    await bot.settle()
    assert count(bot, Incident) == 1 and count(bot, TrackerIssue) == 1


async def test_closing_reopening_and_relabelling_the_issue_change_the_incident_and_nothing_echoes(
        tracked, side: Side):
    bot = tracked
    issue = side.fake.add_issue("Queue stuck", ["firefighter", "P1"])
    await side.send(bot, side.event("opened", issue))
    await bot.settle()
    await deliver(bot)
    writes_before = len(side.fake.writes())

    issue["labels"] = ["firefighter", "P0"]
    status, answer = await side.send(bot, side.event("labeled", issue, sender="alice"))
    assert (status, answer) == (202, {"incident": "INC-1", "did": "priority"})
    issue["state"] = "closed"
    status, answer = await side.send(bot, side.event("closed", issue, sender="alice"))
    assert (status, answer) == (202, {"incident": "INC-1", "did": "resolved"})
    [incident] = bot.incidents()
    assert (incident.priority, incident.status) == ("P0", "resolved")
    assert "alice" in incident.resolution or any("alice" in e.text for e in events_of(bot, "resolved"))
    await deliver(bot, 1)
    [analysis] = side.fake.writes()[writes_before:]  # not said back to it: only the P0's analysis draft is news
    assert analysis.method == "POST" and analysis.body["body"].startswith("## Incident analysis draft")
    assert issue["labels"] == ["firefighter", "P0"]

    issue["state"] = "open"
    status, answer = await side.send(bot, side.event("reopened", issue, sender="alice"))
    assert (status, answer) == (202, {"incident": "INC-1", "did": "reopened"})
    assert bot.incidents()[0].status != "resolved"


async def test_the_bots_own_changes_coming_back_change_nothing(tracked, side: Side):
    bot = tracked
    await bot.declare("Checkout is down", priority="P0", user="U0A")
    await deliver(bot)
    [issue] = side.fake.issues.values()
    status, answer = await side.send(bot, side.event("opened", issue, sender=side.fake.login))
    assert (status, answer["did"]) == (202, "ignored") and count(bot, Incident) == 1
    status, body, _ = await bot.slack.command("priority INC-1 P1", user="U0A")
    assert status == 200, body
    await deliver(bot, 1)
    assert "P1" in issue["labels"]
    issue_then = dict(issue, labels=["incident", "P0", "firefighter"])  # an older label event arriving late
    status, answer = await side.send(bot, side.event("labeled", issue_then, sender=side.fake.login))
    assert answer["did"] == "ignored" and bot.incidents()[0].priority == "P1"


async def test_an_issue_the_bot_opened_is_known_as_its_own_before_its_link_is_stored(tracked, side: Side):
    """Its `opened` event can come back before the bot has recorded the issue (and before it knows its own
    account there): what it wrote in the issue tells."""
    bot = tracked
    with bot.session() as s:
        s.exec(delete(TrackerState))
        s.commit()
    issue = side.fake.add_issue("INC-9: Checkout is down", ["incident", "P0", "firefighter"],
                                body="**INC-9** — P0\n\n<!-- firefighter:INC-9 -->", author=side.fake.login)
    status, answer = await side.send(bot, side.event("opened", issue, sender=side.fake.login))
    assert (status, answer["did"]) == (202, "ignored") and answer["reason"] == "an issue the bot opened"
    issue["body"] = "Written by a person"
    status, answer = await side.send(bot, side.event("opened", issue, sender=side.fake.login))
    assert answer["did"] == "declared", "without the marker (and the account unknown) it is anyone's issue"


async def test_events_arriving_out_of_order_never_put_back_an_older_state(tracked, side: Side):
    bot = tracked
    issue = side.fake.add_issue("Queue stuck", ["firefighter", "P1"])
    closed = dict(issue, state="closed")
    status, answer = await side.send(bot, side.event("closed", closed, updated_at=moment(50_000)))
    assert answer["did"] == "ignored"
    status, answer = await side.send(bot, side.event("opened", issue, updated_at=moment(49_000)))
    assert (status, answer["did"]) == (202, "ignored") and "closed since" in answer["reason"]
    assert count(bot, Incident) == 0
    status, answer = await side.send(bot, side.event("reopened", issue, updated_at=moment(51_000)))
    assert answer["did"] == "declared", "reopened after it was closed: into the queue"

    p0 = dict(issue, labels=["firefighter", "P0"])
    status, answer = await side.send(bot, side.event("labeled", p0, updated_at=moment(53_000)))
    assert answer["did"] == "priority"
    status, answer = await side.send(bot, side.event("labeled", issue, updated_at=moment(52_000)))
    assert answer["did"] == "ignored" and "older event" in answer["reason"]
    assert bot.incidents()[0].priority == "P0"


async def test_the_bot_learns_its_account_on_the_tracker_when_it_was_down_at_start_up(make_bot, side: Side):
    side.fake.down()
    bot = await make_bot(**side.settings())
    await with_rotation(bot)
    assert (await health(bot))["trackers"][side.name]["as"] is None
    side.fake.recover()
    await bot.declare("Checkout is down", priority="P1", user="U0A")
    await deliver(bot)
    assert len(side.fake.issues) == 1
    assert (await health(bot))["trackers"][side.name]["as"] == side.fake.login
    _, public, text = await stranger_health(bot)  # the tracker account's login is not told to strangers
    assert public["trackers"] == {side.name: "ok"} and side.fake.login not in text, text
    [issue] = side.fake.issues.values()
    status, answer = await side.send(bot, side.event("labeled", dict(issue, labels=["P0"]), sender=side.fake.login))
    assert (status, answer["reason"]) == (202, "the bot's own change")


async def test_a_github_secondary_rate_limit_without_headers_is_waited_out_not_given_up(make_bot):
    """GitLab's limits always answer 429 (tested above); GitHub's secondary ones may be a bare 403."""
    side = await start_side("github")
    bot = await make_bot(**side.settings())
    await with_rotation(bot)
    side.fake.fail(403, method="POST", body={"message": "You have exceeded a secondary rate limit. Please wait a "
                                                        "few minutes before you try again."})
    await bot.declare("Checkout is down", priority="P1", user="U0A")
    await deliver(bot)
    assert side.fake.issues == {} and events_of(bot, "tracker") == []
    for _ in range(3):
        await bot.tick(seconds=30)
    assert len(side.fake.issues) == 1 and (await health(bot))["trackers"]["github"]["failed"] == 0
    await side.fake.stop()


async def test_webhook_refusals_store_nothing(tracked, side: Side):
    bot = tracked
    issue = side.fake.add_issue("Login broken", ["firefighter", "P0"])
    body = json.dumps(side.event("opened", issue)).encode()
    status, answer = await side.send(bot, body, secret="not-the-secret")
    assert status == 401
    status, answer = await side.send(bot, b"{not json")
    assert status == 400 and answer["field"] == "body"
    broken = side.event("opened", issue)
    (broken["issue"] if side.name == "github" else broken["object_attributes"]).pop("id")
    status, answer = await side.send(bot, broken)
    assert status == 400 and answer["field"] in ("issue.id", "object_attributes.id"), answer
    status, answer = await side.send(bot, side.event("opened", issue, project="someone/else"))
    assert status == 202 and "is not" in answer["ignored"]
    status, answer = await side.send(bot, side.event("opened", issue),
                                     event="ping" if side.name == "github" else "Push Hook")
    assert status == 202 and "ignored" in answer
    status, answer = await side.send(bot, b" " * (1024 * 1024 + 1))
    assert status == 413
    assert count(bot, Incident) == 0 and count(bot, TimelineEvent) == 0


async def test_webhooks_answer_404_until_their_secret_is_set(make_bot, side: Side):
    settings = side.settings()
    settings.pop(f"{side.name}_webhook_secret" if side.name == "github" else "gitlab_webhook_token")
    bot = await make_bot(**settings)
    issue = side.fake.add_issue("Login broken", ["firefighter", "P0"])
    status, answer = await side.send(bot, side.event("opened", issue))
    assert status == 404 and "not enabled" in answer["error"]
    assert count(bot, Incident) == 0


async def test_check_says_whether_the_tracker_token_and_repository_are_right(tmp_path, fake_slack, side: Side):
    from tests.conftest import SECRET, TOKEN
    from tests.test_cli import run

    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake_slack.api_url,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
           **{name.upper(): value for name, value in side.settings().items()}}
    code, out, _ = await run(tmp_path, "-m", "bot", "migrate", **env)
    assert code == 0, out
    code, out, _ = await run(tmp_path, "-m", "bot", "check", **env)
    assert code == 0 and out[-1] == f"✓ {side.title}: acme/infra as @{side.fake.login}", out
    code, out, _ = await run(tmp_path, "-m", "bot", "check", **{**env, f"{side.name.upper()}_TOKEN": "wrong"})
    assert code == 1 and out[-1].startswith(f"✗ {side.title}: {side.title} answered 401"), out


async def test_a_repository_the_token_cannot_see_is_a_refusal_for_good(make_bot, side: Side):
    where = {"github_repo": "acme/gone"} if side.name == "github" else {"gitlab_project": "acme/gone"}
    bot = await make_bot(**side.settings(**where))
    await with_rotation(bot)
    await bot.declare("Checkout is down", priority="P1", user="U0A")
    await deliver(bot)
    [note] = events_of(bot, "tracker")
    assert "404" in note.text and side.fake.issues == {}
    assert (await health(bot))["trackers"][side.name]["state"] == "refused"


async def test_an_issue_arriving_while_the_tracker_api_is_down_still_pages_and_links_back_once(tracked, side: Side):
    bot = tracked
    side.fake.down()
    issue = side.fake.add_issue("Deploys are failing", ["firefighter", "P0"])
    status, answer = await side.send(bot, side.event("opened", issue))
    assert (status, answer["did"]) == (202, "declared")
    await bot.settle()
    for _ in range(20):  # ten minutes
        await bot.tick(seconds=30)
    assert dms_to(bot, "U0A") and side.fake.comments[issue["number"]] == []
    side.fake.recover()
    await bot.tick(seconds=30)
    await deliver(bot, 1)
    [comment] = side.fake.comments[issue["number"]]
    assert "Declared as **INC-1**" in comment and len(side.fake.issues) == 1
