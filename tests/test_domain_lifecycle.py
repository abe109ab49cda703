"""Status transitions (SPEC §1) and who may change an incident, as pure rules."""

from __future__ import annotations

import pytest

from bot.domain import lifecycle
from bot.domain.errors import UserError
from bot.domain.incident import Priority, Status

S = Status


@pytest.mark.parametrize(("current", "target"), [
    (S.NEW, S.TRIAGED), (S.NEW, S.IN_PROGRESS), (S.TRIAGED, S.IN_PROGRESS), (S.TRIAGED, S.BLOCKED),
    (S.IN_PROGRESS, S.BLOCKED), (S.BLOCKED, S.IN_PROGRESS),
])
def test_statuses_move_forward_and_in_progress_and_blocked_swap(current, target):
    lifecycle.check_status_change(1, current, target)


@pytest.mark.parametrize(("current", "target", "reason"), [
    (S.TRIAGED, S.TRIAGED, "INC-1 is already triaged."),
    (S.IN_PROGRESS, S.TRIAGED, "INC-1 is in progress; statuses move forward, it cannot go back to triaged."),
    (S.BLOCKED, S.TRIAGED, "INC-1 is blocked; statuses move forward, it cannot go back to triaged."),
    (S.RESOLVED, S.IN_PROGRESS, "INC-1 is resolved; `reopen` it before you change its status."),
    (S.CLOSED, S.TRIAGED, "INC-1 is closed; it stays that way. Declare a new incident instead."),
])
def test_illegal_status_changes_say_why(current, target, reason):
    with pytest.raises(UserError) as caught:
        lifecycle.check_status_change(1, current, target)
    assert str(caught.value) == reason


def test_status_words():
    assert lifecycle.parse_status("in-progress") is S.IN_PROGRESS
    assert lifecycle.parse_status("Blocked") is S.BLOCKED
    for bad in ("new", "duplicate", "done"):
        with pytest.raises(UserError, match="Status must be one of"):
            lifecycle.parse_status(bad)
    with pytest.raises(UserError, match=r"use `duplicate INC-<m>`"):
        lifecycle.parse_status("duplicate")


def test_only_resolved_incidents_reopen():
    lifecycle.check_reopen(3, S.RESOLVED)
    with pytest.raises(UserError, match=r"^INC-3 is open \(in progress\); there is nothing to reopen\.$"):
        lifecycle.check_reopen(3, S.IN_PROGRESS)
    with pytest.raises(UserError, match="only resolved incidents can be reopened"):
        lifecycle.check_reopen(3, S.CLOSED)
    with pytest.raises(UserError, match="INC-3 is a duplicate of INC-1; only resolved"):
        lifecycle.check_reopen(3, S.DUPLICATE, duplicate_of=1)


def test_duplicate_rules():
    lifecycle.check_duplicate(2, S.NEW, 1, S.IN_PROGRESS, None)
    lifecycle.check_duplicate(2, S.NEW, 1, S.RESOLVED, None)
    cases = [
        ((2, S.NEW, 2, S.NEW, None), "INC-2 cannot be a duplicate of itself."),
        ((2, S.NEW, 9, None, None), "There is no INC-9."),
        ((2, S.NEW, 1, S.CLOSED, None), "INC-1 is closed; a duplicate must point at an incident that was worked."),
        ((2, S.NEW, 3, S.DUPLICATE, 1), "INC-3 is itself a duplicate of INC-1; mark INC-2 a duplicate of INC-1."),
        ((2, S.RESOLVED, 1, S.NEW, None), "INC-2 is resolved; `reopen` it before you mark it a duplicate."),
    ]
    for args, reason in cases:
        with pytest.raises(UserError) as caught:
            lifecycle.check_duplicate(*args)
        assert str(caught.value) == reason


def test_priority_changes():
    lifecycle.check_priority_change(1, S.NEW, Priority.P1, Priority.P0)
    with pytest.raises(UserError, match="already P1"):
        lifecycle.check_priority_change(1, S.NEW, Priority.P1, Priority.P1)
    with pytest.raises(UserError, match="reopen"):
        lifecycle.check_priority_change(1, S.RESOLVED, Priority.P1, Priority.P0)
    assert lifecycle.parse_priority("p0") is Priority.P0
    with pytest.raises(UserError, match="P0, P1 or P2"):
        lifecycle.parse_priority("P3")
    assert lifecycle.is_raise_to_p0(Priority.P2, Priority.P0)
    assert not lifecycle.is_raise_to_p0(Priority.P0, Priority.P0)
    assert not lifecycle.is_raise_to_p0(Priority.P0, Priority.P1)


def test_who_may_change_an_incident():
    rule = dict(commander="UC", responders=["UR"], firefighters=["UF"], admins=["UA"])
    for allowed in ("UC", "UR", "UF", "UA"):
        assert lifecycle.may_change(allowed, **rule)
    assert not lifecycle.may_change("UX", **rule)
    assert not lifecycle.may_change("UX", commander="UC", responders=[], firefighters=[], admins=[])
    # Nobody holds it yet: anyone may pick it up.
    assert lifecycle.may_change("UX", commander=None, responders=[], firefighters=[], admins=[])
    # ...unless admins exist: then they (or the rotation) pick it up.
    assert not lifecycle.may_change("UX", commander=None, responders=[], firefighters=[], admins=["UA"])
