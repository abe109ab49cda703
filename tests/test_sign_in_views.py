"""What sign-in and the board's writes decide, without HTTP (bot/http/sign_in_views.py); the routes themselves are
driven through HTTP in test_sign_in.py and test_web_sessions.py."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.domain.errors import UserError
from bot.domain.incident import Priority, Status
from bot.http.sign_in_views import BoardAct, authorize_url, board_act, change_of


def test_the_authorize_url_asks_for_openid_in_the_bots_workspace_when_known():
    url = authorize_url("https://slack.test/openid/connect/authorize", "C1", "https://bot.test/cb", "s", "n", "T9")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://slack.test/openid/connect/authorize"
    assert parse_qs(parts.query) == {"response_type": ["code"], "scope": ["openid profile"], "client_id": ["C1"],
                                     "state": ["s"], "nonce": ["n"], "redirect_uri": ["https://bot.test/cb"],
                                     "team": ["T9"]}
    assert "team" not in parse_qs(urlsplit(authorize_url("https://a", "C1", "r", "s", "n", None)).query)


def _body(**fields) -> bytes:
    return json.dumps({"incident": 4, "action": "move", "value": "triaged", "key": "abcdefgh", **fields}).encode()


def test_a_board_act_is_read_from_its_json_or_refused_saying_what_to_send():
    assert board_act(_body(note="n")) == BoardAct(4, "move", "triaged", "n", "abcdefgh")
    for raw in (b"", b"[]", b"{", json.dumps({"action": "move"}).encode(), b"[" * 100_000):
        with pytest.raises(ValueError, match=re.escape("send {incident, action, value, key} as JSON")):
            board_act(raw)
    for bad in (_body(incident="4"), _body(incident=True), _body(incident=0), _body(incident=2**31),
                _body(key="short"), _body(key="with space!")):
        with pytest.raises(ValueError, match="a request key and an incident number are needed"):
            board_act(bad)


def act(action: str, value: str = "", note: str = "") -> BoardAct:
    return BoardAct(12, action, value, note, "abcdefgh")


def test_each_act_is_one_change_with_what_the_person_is_told():
    moved = change_of(act("move", "in_progress"))
    assert (moved.what, moved.target, moved.said) == ("status", Status.IN_PROGRESS, "INC-12: In progress.")
    resolved = change_of(act("move", "resolved", "rolled back"))
    assert (resolved.target, resolved.note) == (Status.RESOLVED, "rolled back")
    assert change_of(act("command")).said == "You command INC-12."
    bumped = change_of(act("priority", "P0"))
    assert (bumped.what, bumped.priority, bumped.said) == ("priority", Priority.P0, "INC-12 is P0.")


@pytest.mark.parametrize(("asked", "why"), [
    (act("move", "new"), "A card moves to triaged, in progress, blocked or resolved, not 'new'."),
    (act("move", "x" * 50), "not 'xxxxxxxxxxxxxxxxxxxx'"),
    (act("move", "resolved", "   "), "Say in a sentence how it was resolved."),
    (act("priority", "P9"), "Unknown action: move, command or priority."),
    (act("delete"), "Unknown action: move, command or priority."),
])
def test_acts_the_board_does_not_make_are_refused_saying_why(asked, why):
    with pytest.raises(UserError) as refused:
        change_of(asked)
    assert why in str(refused.value)
