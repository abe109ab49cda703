"""manifest.yml is a valid Slack app manifest (Slack's own JSON Schema) and matches what the code listens for."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml
from referencing import Registry, Resource

from bot.slack.ids import CallbackId

ROOT = Path(__file__).resolve().parents[1]
# Slack's public JSON Schema for app manifests (slackapi/manifest-schema v0.5.0), kept in the repository so the
# test never depends on a folder beside the clone or on the network. `$ref`s to REMOTE resolve to these files.
SCHEMAS = Path(__file__).parent / "manifest_schema"
REMOTE = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"


def validator() -> jsonschema.Draft7Validator:
    root = json.loads((SCHEMAS / "manifest.schema.json").read_text())
    resources = [(REMOTE + name, Resource.from_contents(json.loads((SCHEMAS / f"schemas_{name}").read_text())))
                 for name in ("manifest.schema.1.0.0.json", "manifest.schema.2.0.0.json")]
    return jsonschema.Draft7Validator(root, registry=Registry().with_resources(resources))


def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_validates_against_slacks_schema():
    errors = list(validator().iter_errors(manifest()))
    details = [f"{list(c.absolute_path)}: {c.message}" for e in errors for c in (e.context or [e])]
    assert errors == [], details


def test_schema_is_strict_enough_to_catch_mistakes():
    broken = manifest()
    broken["features"]["slash_commands"][0]["shoud_escape"] = True
    assert list(validator().iter_errors(broken))


def test_manifest_matches_the_code():
    m = manifest()
    command = m["features"]["slash_commands"][0]
    assert command["command"] == "/incident" and command["should_escape"] is True
    assert command["url"].endswith("/slack/events")
    shortcut = m["features"]["shortcuts"][0]
    assert (shortcut["type"], shortcut["callback_id"]) == ("message", CallbackId.DECLARE_SHORTCUT)
    assert shortcut["name"] == "Declare incident"  # Slack caps shortcut names at 24 characters
    assert shortcut["description"].startswith("Declare incident from message")
    assert m["features"]["app_home"]["home_tab_enabled"] is True
    assert m["settings"]["interactivity"]["is_enabled"] is True
    # the declare form's rotation select past 100 rotations (bot/views/incident.py, rotation_suggestions)
    assert m["settings"]["interactivity"]["message_menu_options_url"].endswith("/slack/events")
    assert "app_home_opened" in m["settings"]["event_subscriptions"]["bot_events"]
    scopes = set(m["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "channels:manage", "pins:write", "users:read", "im:write"} <= scopes
