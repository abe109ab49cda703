"""Bolt tries its listeners' matchers in the order they were added, each try costing about as much as building a
listener's arguments: the requests that come in bursts must find theirs first (bot/slack/app.py)."""

from __future__ import annotations

from bot.listeners import commands, declare, events, working


async def test_the_requests_that_come_in_bursts_find_their_listener_first(bot):
    functions = [listener.ack_function for listener in bot.runtime.bolt._async_listeners]
    assert functions[:5] == [commands.incident_command, declare.declare_submitted, working.acknowledge,
                             working.acknowledge_page, events.message]
    assert {declare.declare_from_message, declare.impact_changed, declare.rotation_options, events.user_change,
            working.take_command} <= set(functions[5:])  # the others are all still there, after them
