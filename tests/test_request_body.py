"""A Slack body read by yarl's decoder (bot/slack/request_body.py) is what `parse_qsl` and Bolt's parse_body make of it
— for any form, any payload, any JSON body — but for a form that merely says "payload"."""

from __future__ import annotations

import gc
import json
import weakref
from urllib.parse import parse_qsl, quote, urlencode

from hypothesis import given, settings
from hypothesis import strategies as st
from slack_bolt.request.internals import parse_body

from bot.slack.request_body import body_of, bolt_request, form_fields
from tests.slack_requests import sample, view_submission

TEXT = st.text(st.characters(max_codepoint=0x1FFFF, blacklist_categories=("Cs",)), max_size=40)
FIELDS = st.lists(st.tuples(TEXT.filter(bool), TEXT), min_size=1, max_size=6)


@settings(max_examples=400, deadline=None)
@given(FIELDS, st.booleans())
def test_any_form_is_read_as_parse_qsl_reads_it(fields, plus):
    raw = urlencode(fields) if plus else urlencode(fields, quote_via=quote)  # spaces as `+` or as `%20`
    assert form_fields(raw) == dict(parse_qsl(raw, keep_blank_values=True))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_string_is_read_as_parse_qsl_reads_it(raw):  # broken escapes, stray `=` and `&`, anything typed
    assert form_fields(raw) == dict(parse_qsl(raw, keep_blank_values=True))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(TEXT, st.recursive(st.none() | st.booleans() | st.integers() | TEXT,
                                           lambda inner: st.lists(inner) | st.dictionaries(TEXT, inner), max_leaves=8)))
def test_any_payload_or_json_body_is_read_as_bolt_reads_it(payload):
    form = urlencode({"payload": json.dumps(payload)})
    assert body_of(form, "application/x-www-form-urlencoded") == parse_body(form, None) == payload
    raw = json.dumps(payload)
    assert body_of(raw, "application/json") == parse_body(raw, "application/json") == payload


def test_slack_samples_and_a_command_that_says_payload():
    submission = urlencode({"payload": json.dumps(view_submission({"id": "V1", "blocks": []}, {}))})
    command = urlencode({**sample("slash_command_fields.json"), "text": "declare payload parser down"})
    assert body_of(submission, None) == parse_body(submission, None)
    assert body_of(command, None)["text"] == "declare payload parser down"
    assert parse_body(command, None) == {}  # what Bolt itself makes of it (answered 404 "unhandled request")
    assert body_of("", None) == {}


def test_bolt_gets_an_http_request_with_its_raw_body():
    raw = urlencode(sample("slash_command_fields.json"))
    request = bolt_request(raw, "", {"Content-Type": "application/x-www-form-urlencoded"},
                           "application/x-www-form-urlencoded")
    assert (request.mode, request.raw_body, request.body) == ("http", raw, dict(parse_qsl(raw)))
    assert request.context["user_id"] == request.body["user_id"]  # the context is built from the body
    assert request.to_copyable().body == request.body


def test_the_web_api_clients_json_is_the_standard_librarys_and_takes_what_orjson_refuses():
    """bot/slack/gateway.py json_text: orjson writes the Web API bodies (nine times as fast on a declare form)."""
    from bot.slack.gateway import json_text
    from bot.slack.ids import ActionId
    body = {"view": {"blocks": [{"text": "Ünïcode — <@U1> \"quoted\"", "action_id": ActionId.ROTATION}]},
            "n": [1, 2.5, None, True], "t": ("a", "b")}
    assert json.loads(json_text(body)) == json.loads(json.dumps(body))
    assert json.loads(json_text({1: "int key"})) == {"1": "int key"}  # orjson refuses it; the library writes it


def test_a_body_read_is_not_kept_once_its_request_is_done():
    """Nothing cached on a body: each request's body (a declare form's is ~7 KB) would otherwise outlive it, the
    newest 128 held in memory at any time and churned burst after burst."""
    class Body(str):  # a str that can be watched for its end
        pass

    raw = Body(urlencode({"payload": json.dumps({"type": "view_submission", "view": {"id": "V1"}})}))
    watch = weakref.ref(raw)
    assert body_of(raw, "application/x-www-form-urlencoded")["view"]["id"] == "V1"
    del raw
    gc.collect()
    assert watch() is None
