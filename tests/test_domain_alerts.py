"""Reading alert bodies, as pure functions."""

from __future__ import annotations

import pytest

from bot.domain.alerts import (
    DEFAULT_PRIORITY,
    BadAlert,
    Ignored,
    left_out,
    parse_alertmanager,
    parse_generic,
    parse_gitlab,
    severity,
)
from bot.domain.incident import Priority
from tests.slack_requests import sample


def test_generic_defaults_and_derived_fingerprint():
    alert = parse_generic({"title": "  Disk\nalmost   full  "})
    assert (alert.title, alert.firing, alert.priority) == ("Disk almost full", True, Priority.P1)
    assert alert.fingerprint == parse_generic({"title": "disk almost FULL"}).fingerprint
    assert parse_generic({"title": "x", "priority": "critical"}).priority is Priority.P0
    assert len(parse_generic({"title": "t" * 400}).title) == 150


def test_alertmanager_severity_and_fingerprints():
    body = sample("alertmanager_v4.json")
    alerts = parse_alertmanager(body)
    assert [a.priority for a in alerts] == [Priority.P0, Priority.P0]
    del body["alerts"][0]["fingerprint"]
    body["alerts"][0]["labels"]["severity"] = "info"
    first = parse_alertmanager(body)[0]
    assert first.priority is Priority.P2 and len(first.fingerprint) == 32
    with pytest.raises(BadAlert) as caught:
        parse_alertmanager({"alerts": [{"labels": {"a": "b"}, "status": "sleeping"}]})
    assert caught.value.field == "alerts[0].status"


def test_gitlab_events_that_ask_for_nothing():
    body = sample("gitlab_pipeline_failed.json")
    assert isinstance(parse_gitlab(body, "Push Hook"), Ignored)
    body["object_attributes"]["tag"] = True
    assert parse_gitlab(body, "Pipeline Hook") == Ignored("tag pipelines do not open incidents")


@pytest.mark.parametrize(("word", "priority"), [
    ("critical", Priority.P0), ("PAGE", Priority.P0), ("sev1", Priority.P0), ("SEV-1", Priority.P0), ("1", Priority.P0),
    ("P0", Priority.P0), ("error", Priority.P1), ("major", Priority.P1), ("high", Priority.P1),
    ("warning", Priority.P1),
    ("sev_2", Priority.P1), ("p1", Priority.P1), ("minor", Priority.P2), ("low", Priority.P2), ("info", Priority.P2),
    ("3", Priority.P2), ("P2", Priority.P2), ("banana", None), ("", None), ("p9", None),
])
def test_severity_words(word, priority):
    assert severity(word) is priority


def test_an_unmappable_severity_label_opens_with_the_default_and_says_so_but_generic_priority_is_refused():
    body = sample("alertmanager_v4.json")
    body["alerts"][0]["labels"]["severity"] = "sev-banana"
    alert = parse_alertmanager(body)[0]
    assert alert.priority is DEFAULT_PRIORITY is Priority.P1
    assert alert.notes == ("The alert's severity `sev-banana` is not one the bot knows: opened as P1, the default.",)
    assert alert.started == "2026-11-25T11:58:00.000Z"
    with pytest.raises(BadAlert) as caught:  # generic's `priority` is a field of ours: a bad value is named
        parse_generic({"title": "x", "priority": "sev-banana"})
    assert caught.value.field == "priority"


def test_truncated_alerts_is_read_leniently():
    assert [left_out({"truncatedAlerts": v}) for v in (2, 0, -1, "3", True, None)] == [2, 0, 0, 0, 0, 0]
    assert left_out([]) == 0
