"""Escalation policies as pure rules (bot/domain/escalation.py): reading a policy, and what a chain pages next —
without Slack or a database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.errors import UserError
from bot.domain.escalation import (
    GroupWord,
    Paged,
    Policy,
    Step,
    default_policy,
    describe,
    groups_named,
    next_pages,
    parse_policy,
    policy_from_json,
    policy_json,
)
from bot.domain.rotation import Role

HOLDERS = {Role.PRIMARY: "UA", Role.SECONDARY: "UB", Role.TERTIARY: "UC"}
LEADS = {"S1": ("S1", ["UL", "UM"])}


def walk(policy: Policy, *, start="primary", holders=HOLDERS, inside=None, most=40) -> list[tuple]:
    """Every page the chain sends when nobody ever answers: (round, step, role, users)."""
    chain: list[Paged] = []
    sent = []
    while (nxt := next_pages(policy, chain, start=start, holders=holders, p1_inside=inside)) is not None:
        sent.append((nxt.round, nxt.step, nxt.role, nxt.users))
        chain += [Paged(nxt.round, u) for u in nxt.users] or [Paged(nxt.round, None)]
        assert len(sent) < most
    return sent


def test_a_policy_reads_steps_with_minutes_people_groups_and_repeat():
    policy = parse_policy("primary 5m, Secondary 10 min, <@U0BOB|bob> 15m, <!subteam^S1|@leads> 2m, channel 1m "
                          "repeat 2", LEADS)
    assert policy == Policy((Step("primary", 300), Step("secondary", 600), Step("person", 900, "U0BOB"),
                             Step("group", 120, "S1", "leads", ("UL", "UM")), Step("channel", 60)), 2)
    assert policy_from_json(policy_json(policy)) == policy
    assert describe(policy) == ("primary 5m → secondary 10m → <@U0BOB> 15m → @leads (2 people) 2m → @here in the "
                                "channel 1m, then again up to 2 more times")
    assert groups_named("primary 5m, @leads 5m, <!subteam^S2|@ops> 1m, <@U1> 2m") == [GroupWord(None, "leads"),
                                                                                     GroupWord("S2", "ops")]


@pytest.mark.parametrize(("text", "says"), [
    ("", "at least one step"),
    ("primary", "needs minutes"),
    ("primary 5", "minutes are like `5m`"),
    ("primary 0m", "from 1 to 1440"),
    ("primary 1441m", "from 1 to 1440"),
    ("channel, primary 5m", "always the last step"),
    ("boss 5m", "is not a step"),
    ("@nobody 5m", "could not find the user group"),
    ("<!subteam^S9|@empty> 5m", "has nobody in it"),
    ("primary 5m, channel repeat 2", "needs minutes on its last step"),
    ("primary 5m repeat 10", "`repeat` goes up to 9"),
    (", ".join(["primary 1m"] * 11), "at most 10 steps"),
])
def test_a_policy_that_does_not_read_says_why(text, says):
    with pytest.raises(UserError) as refused:
        parse_policy(text, {"S9": ("S9", [])})
    assert says in str(refused.value)


def test_the_default_walks_the_seeds_chain_once():
    assert walk(default_policy(timedelta(minutes=5))) == [
        (0, 0, "primary", ("UA",)), (0, 1, "secondary", ("UB",)), (0, 2, "tertiary", ("UC",)), (0, 3, "channel", ())]
    assert default_policy(timedelta(minutes=5)).steps[0].seconds == 300


def test_someone_holding_two_roles_or_named_twice_is_paged_once_per_round():
    policy = parse_policy("primary 1m, <@UA> 1m, secondary 1m, channel 1m repeat 1")
    assert walk(policy, holders={Role.PRIMARY: "UA", Role.SECONDARY: "UB"}) == [
        (0, 0, "primary", ("UA",)), (0, 2, "secondary", ("UB",)), (0, 3, "channel", ()),
        (1, 0, "primary", ("UA",)), (1, 2, "secondary", ("UB",)), (1, 3, "channel", ())]


def test_a_group_step_pages_its_members_not_yet_paged_at_once():
    policy = parse_policy("<@UL> 1m, <!subteam^S1|@leads> 2m", LEADS)
    assert walk(policy) == [(0, 0, "person", ("UL",)), (0, 1, "group", ("UM",))]


def test_a_chain_started_by_hand_pages_that_person_first_then_the_policy():
    policy = parse_policy("primary 3m, secondary 4m")
    assert walk(policy, start="UZ") == [(0, -1, "person", ("UZ",)), (0, 0, "primary", ("UA",)),
                                        (0, 1, "secondary", ("UB",))]
    assert walk(policy, start="secondary") == [(0, 1, "secondary", ("UB",))]


def test_p1_role_steps_go_to_the_first_holder_inside_business_hours():
    policy = default_policy(timedelta(minutes=30))
    awake = {"UC"}
    first = next_pages(policy, [], start="primary", holders=HOLDERS, p1_inside=lambda u: u in awake)
    assert (first.role, first.users, first.note) == ("tertiary", ("UC",), "skipped <@UA>, <@UB> (outside business "
                                                                          "hours)")
    then = next_pages(policy, [Paged(0, "UC")], start="primary", holders=HOLDERS, p1_inside=lambda u: u in awake)
    assert (then.role, then.users, then.note) == ("primary", ("UA",), "everyone is outside business hours; paging "
                                                                      "all the same")


@given(st.lists(st.sampled_from(["primary", "secondary", "tertiary", "<@UA>", "<@UQ>", "<!subteam^S1>"]),
                min_size=1, max_size=6),
       st.booleans(), st.integers(0, 3), st.sampled_from(["primary", "secondary", "tertiary", "UZ"]),
       st.dictionaries(st.sampled_from(list(Role)), st.sampled_from(["UA", "UB", "UC", "UL"])))
def test_every_chain_ends_and_pages_nobody_twice_in_a_round(targets, channel, repeat, start, holders):
    text = ", ".join(f"{t} 1m" for t in targets) + (", channel 1m" if channel else "") + f" repeat {repeat}"
    policy = parse_policy(text, {"S1": ("S1", ["UL", "UM"])})
    sent = walk(policy, start=start, holders=holders)
    for round_ in range(repeat + 1):
        users = [u for r, _, _, each in sent if r == round_ for u in each]
        assert len(users) == len(set(users))
        assert [role for r, _, role, _ in sent if r == round_].count("channel") <= 1
    assert max((r for r, *_ in sent), default=0) <= repeat
