"""Reading alert bodies, as pure functions."""

from __future__ import annotations

import pytest

from bot.domain.alerts import BadAlert, Ignored, parse_alertmanager, parse_generic, parse_gitlab
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
