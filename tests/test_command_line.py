"""Where the incident id may sit in `/incident …` text."""

from __future__ import annotations

from bot.listeners.command_line import CommandLine, parse, user_refs


def test_incident_before_after_or_inferred():
    assert parse("update rolled back") == CommandLine("update", None, "rolled back")
    assert parse("update INC-3 rolled back, see INC-4") == CommandLine("update", 3, "rolled back, see INC-4")
    assert parse("INC-3 status blocked vendor") == CommandLine("status", 3, "blocked vendor")
    assert parse("Status inc-3 blocked") == CommandLine("status", 3, "blocked")
    assert parse("priority P0 INC-7") == CommandLine("priority", 7, "P0")
    assert parse("status blocked waiting on INC-4") == CommandLine("status", None, "blocked waiting on INC-4")
    assert parse("") == CommandLine("", None, "")


def test_responders_and_duplicate():
    assert parse("responders add <@U1|a> <@U2>") == CommandLine("responders", None, "add <@U1|a> <@U2>")
    assert parse("responders INC-2 add <@U1>") == CommandLine("responders", 2, "add <@U1>")
    assert parse("responders remove INC-2 <@U1>") == CommandLine("responders", 2, "remove <@U1>")
    assert parse("duplicate INC-5") == CommandLine("duplicate", None, "INC-5")
    assert parse("duplicate INC-3 INC-5") == CommandLine("duplicate", 3, "INC-5")
    assert parse("INC-3 duplicate INC-5") == CommandLine("duplicate", 3, "INC-5")


def test_user_refs():
    assert user_refs("<@U1|alice>, <@W2> bob") == (["U1", "W2"], ["bob"])


def test_free_text_is_not_mistaken_for_an_incident():
    assert parse("declare INC-5 broke again") == CommandLine("declare", None, "INC-5 broke again")
    assert parse("close #1 was a false alarm") == CommandLine("close", None, "#1 was a false alarm")
    assert parse("update #1 was merged") == CommandLine("update", None, "#1 was merged")
    assert parse("rotation add payments <@U1>") == CommandLine("rotation", None, "add payments <@U1>")
