"""The tracker bridge's rules without HTTP or a database: labels, priorities, the trackers' own payloads, and what
an event changes (no echo)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.domain.incident import Priority, Status
from bot.domain.tracker import (
    IssueEvent,
    IssueFacts,
    Linked,
    comment_body,
    decide,
    from_slack,
    issue_body,
    issue_labels,
    issue_title,
    priority_of,
)
from bot.trackers.events import BadEvent, github_event, gitlab_event, same_project

PAYLOADS = Path(__file__).parent / "payloads"


def sample(name: str) -> dict:
    return json.loads((PAYLOADS / name).read_text())


@pytest.mark.parametrize(("labels", "priority"), [
    (["P0"], Priority.P0), (["p1"], Priority.P1), (["priority: P0"], Priority.P0), (["priority::P1"], Priority.P1),
    (["Priority/P0"], Priority.P0), (["prio-p1"], Priority.P1), (["P1 - high"], Priority.P1),
    (["P1", "P0"], Priority.P0), (["P2"], Priority.P2), (["bug", "firefighter"], None), (["P10"], None),
    (["app0"], None), (["priority: high"], None),
])
def test_priority_labels_in_the_styles_teams_use(labels, priority):
    assert priority_of(labels) == priority


def test_labels_keep_what_people_added_and_the_style_they_use():
    assert issue_labels(Priority.P0, Status.NEW, "firefighter") == ["incident", "P0", "firefighter"]
    assert issue_labels(Priority.P1, Status.IN_PROGRESS, "firefighter",
                        ["bug", "priority::P0", "firefighter", "status: triaged"]) == \
        ["bug", "incident", "priority::P1", "firefighter", "status: in progress"]
    assert issue_labels(Priority.P2, Status.RESOLVED, "firefighter", ["incident", "P1", "firefighter", "area: db"]) \
        == ["area: db", "incident", "P2"], "P2 leaves the queue; a closed issue carries no working status"


def test_titles_fit_the_trackers_limit():
    assert issue_title(7, "Checkout is down") == "INC-7: Checkout is down"
    assert len(issue_title(7, "x" * 400)) == 255


def test_slack_markup_reads_as_markdown_on_a_tracker():
    text = "Ask <@U0ALICE|alice> in <#C0PAY|payments>; see <https://grafana.example.com/d/1|the graph> &amp; <https://x.example.com>"
    assert from_slack(text) == ("Ask `@alice` (Slack) in #payments (Slack); see [the graph](https://grafana.example.com/d/1)"
                                " & https://x.example.com")


def test_an_issue_body_says_what_the_incident_is_and_where_it_lives():
    body = issue_body(IssueFacts(number=3, priority=Priority.P0, description="Card payments fail",
                                 impacts=["Users cannot log in"], commander_id="U0ALICE", reporter="<@U0BOB>",
                                 channel_id="C0INC3"))
    assert "**INC-3** — P0" in body and "Card payments fail" in body and "- Users cannot log in" in body
    assert "https://slack.com/app_redirect?channel=C0INC3" in body and "<!-- firefighter:INC-3 -->" in body
    assert comment_body("Done", "delivery-9").endswith("<!-- firefighter:delivery-9 -->")


def test_github_samples_read_as_issue_events():
    event = github_event("issues", "d-1", sample("github_issues_opened.json"))
    assert isinstance(event, IssueEvent)
    assert (event.action, event.project, event.number, event.labels, event.state, event.sender) == \
        ("opened", "Codertocat/Hello-World", 1, ("bug",), "open", "Codertocat")
    assert github_event("issues", "d-2", sample("github_issues_unlabeled.json")).action == "labeled"
    assert github_event("issues", "d-3", sample("github_issues_reopened.json")).action == "reopened"
    assert github_event("ping", "d-4", sample("github_ping.json")).reason.startswith("not an issues event")
    broken = sample("github_issues_opened.json")
    broken["issue"]["number"] = "one"
    with pytest.raises(BadEvent) as caught:
        github_event("issues", "d-5", broken)
    assert caught.value.field == "issue.number"


def test_gitlab_sample_reads_as_an_issue_event():
    event = gitlab_event("Issue Hook", "u-1", sample("gitlab_issue_hook.json"))
    assert isinstance(event, IssueEvent)
    assert (event.action, event.project, event.project_id, event.number, event.labels, event.sender) == \
        ("opened", "gitlabhq/gitlab-test", "1", 23, ("API",), "root")
    updated = sample("gitlab_issue_hook.json")
    updated["object_attributes"]["action"] = "update"
    assert gitlab_event("Issue Hook", "u-2", updated).action == "labeled", "its labels changed"
    assert gitlab_event("Push Hook", "u-3", updated).reason.startswith("not an Issue Hook")
    assert same_project(event, "GitLabHQ/gitlab-test") and same_project(event, "1")
    assert not same_project(event, "other/project")


def _event(action="opened", labels=("firefighter", "P1"), state="open", sender="alice", body="") -> IssueEvent:
    return IssueEvent(tracker="github", delivery_id="d", action=action, project="acme/infra", project_id="1",
                      issue_id="77", number=5, title="Deploys failing", body=body, url="https://x/5",
                      labels=tuple(labels), state=state, sender=sender)


OPEN_P1 = Linked(1, Priority.P1, Status.TRIAGED)


@pytest.mark.parametrize(("event", "linked", "what"), [
    (_event(), None, "declare"),
    (_event(labels=("P1",)), None, "ignore"),  # not in the queue
    (_event(labels=("firefighter", "P2")), None, "ignore"),  # ordinary work
    (_event(labels=("firefighter",)), None, "ignore"),  # no priority
    (_event(state="closed", action="closed"), None, "ignore"),
    (_event(body="<!-- firefighter:INC-4 -->"), None, "ignore"),  # the bot opened it
    (_event(sender="firefighter-bot"), None, "ignore"),  # the bot's own account
    (_event(action="closed", state="closed"), OPEN_P1, "resolve"),
    (_event(action="closed", state="closed"), Linked(1, Priority.P1, Status.RESOLVED), "ignore"),
    (_event(action="reopened"), Linked(1, Priority.P1, Status.RESOLVED), "reopen"),
    (_event(action="reopened"), Linked(1, Priority.P1, Status.CLOSED), "ignore"),
    (_event(action="labeled", labels=("firefighter", "P0")), OPEN_P1, "priority"),
    (_event(action="labeled", labels=("firefighter", "P1")), OPEN_P1, "ignore"),  # what it is already
    (_event(action="labeled", labels=("firefighter",)), OPEN_P1, "ignore"),  # label removed: keep it
    (_event(action="labeled", labels=("P0",), sender="firefighter-bot"), OPEN_P1, "ignore"),
    (_event(action="edited"), OPEN_P1, "ignore"),
])
def test_what_an_issue_event_changes(event, linked, what):
    assert decide(event, linked, "firefighter", "firefighter-bot").what == what


def test_events_older_than_what_was_applied_change_nothing():
    from datetime import UTC, datetime, timedelta

    early, late = datetime(2026, 11, 24, 9, tzinfo=UTC), datetime(2026, 11, 24, 10, tzinfo=UTC)
    seen = Linked(1, Priority.P1, Status.TRIAGED, seen_at=late)
    older = IssueEvent(**{**_event(action="labeled", labels=("firefighter", "P0")).__dict__, "updated_at": early})
    assert decide(older, seen, "firefighter", None).what == "ignore"
    tie = IssueEvent(**{**older.__dict__, "updated_at": late})  # as a replayed body is: the same time again
    assert decide(tie, seen, "firefighter", None).what == "ignore"
    untimed = IssueEvent(**{**older.__dict__, "updated_at": None})
    assert decide(untimed, seen, "firefighter", None).what == "ignore"
    assert decide(untimed, OPEN_P1, "firefighter", None).what == "priority"
    newer = IssueEvent(**{**older.__dict__, "updated_at": late + timedelta(seconds=1)})
    assert decide(newer, seen, "firefighter", None).what == "priority"
    assert decide(older, None, "firefighter", None, closed_since=late).what == "ignore"
    assert decide(newer, None, "firefighter", None, closed_since=early).what == "declare"


def test_a_body_that_is_not_text_is_named():
    broken = sample("github_issues_opened.json")
    broken["issue"]["body"] = {"not": "text"}
    with pytest.raises(BadEvent) as caught:
        github_event("issues", "d-6", broken)
    assert caught.value.field == "issue.body"
    event = github_event("issues", "d-7", sample("github_issues_opened.json"))
    assert event.updated_at is not None and event.updated_at.isoformat() == "2019-05-15T15:20:18+00:00"
    hook = sample("gitlab_issue_hook.json")
    hook["object_attributes"]["updated_at"] = "2017-09-15 16:52:00 UTC"
    assert gitlab_event("Issue Hook", "u-9", hook).updated_at.isoformat() == "2017-09-15T16:52:00+00:00"


def test_a_follow_up_as_an_issue():
    from datetime import date

    from bot.domain.tracker import follow_up_body, follow_up_labels, follow_up_state, follow_up_title
    assert follow_up_title(7, 3, "Ask <@U0B|bo> about <https://x.example|the canary>") == \
        "INC-7 follow-up #3: Ask `@bo` (Slack) about [the canary](https://x.example)"
    assert len(follow_up_title(7, 3, "x" * 400)) <= 256
    body = follow_up_body("Add a canary", "U0B", date(2026, 11, 27), "https://github.example/acme/infra/issues/4",
                          "C0INC", 3)
    assert "**Owner:** Slack user `U0B`" in body and "**Due:** 2026-11-27" in body
    assert "issues/4" in body and "channel=C0INC" in body and "<!-- firefighter:follow-up-3 -->" in body
    assert follow_up_labels(["bug", "follow-up"]) == ["bug", "follow-up"] and follow_up_labels() == ["follow-up"]
    assert (follow_up_state(True), follow_up_state(False)) == ("closed", "open")


def test_only_an_issue_the_bots_account_opened_with_its_marker_is_its_own():
    from bot.domain.tracker import issue_marker, own_issue

    mark = issue_marker(7)
    body = f"**INC-7**\n\n{mark}"
    assert own_issue("Firefighter-Bot", body, "firefighter-bot", mark)
    assert not own_issue("mallory", body, "firefighter-bot", mark)
    assert not own_issue("firefighter-bot", "no marker", "firefighter-bot", mark)
    assert not own_issue("firefighter-bot", body.replace("INC-7", "INC-8"), "firefighter-bot", mark)
    assert not own_issue("firefighter-bot", body, None, mark), "the bot's account unknown: nobody's issue is adopted"


def test_a_body_cut_to_the_trackers_limit_keeps_its_marker():
    from bot.domain.tracker import BODY_MAX, IssueFacts, issue_body, issue_marker

    body = issue_body(IssueFacts(number=3, priority=Priority.P1, description="x" * 70_000, impacts=(),
                                 commander_id=None, reporter="someone", channel_id=None))
    assert len(body) <= BODY_MAX and body.endswith(issue_marker(3)) and "(cut short)" in body
