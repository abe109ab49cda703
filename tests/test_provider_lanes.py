"""SPEC § Reaching people beyond Slack: "a provider that hangs holds only its own lane". Each kind sends in threads
of its own — and Apprise must not take the sends into its process-wide pool (cpus + 4 threads, shared by every
kind), which it does for any service with a timeout (Apprise 2.x's default). Real HTTP receivers, real Apprise."""

from __future__ import annotations

import asyncio

from bot.delivery.providers import Providers
from tests.receivers import PushServer


async def test_a_hanging_provider_holds_none_of_the_other_kinds_sends():
    stuck, working = await PushServer().start(), await PushServer().start()
    stuck.delay = 2.5  # answers (within Apprise's 4 s read timeout), but after every other send below
    providers = Providers({"push": stuck.ntfy_url(), "sms": working.json_url()})
    try:
        await providers.warm_up()
        held = [asyncio.create_task(providers.send("push", f"pager-{n}", "Paged", "INC-1")) for n in range(12)]
        await asyncio.sleep(0)  # (the twelve are in their threads: more than Apprise's shared pool would hold)
        answers = await asyncio.gather(*(providers.send("sms", f"+4915100000{n:02d}", "Paged", "INC-1")
                                         for n in range(12)))
        assert all(a.sent for a in answers) and len(working.pushes) == 12
        assert not any(task.done() for task in held)  # the texts did not wait for the stuck pushes
        assert all(a.sent for a in await asyncio.gather(*held))
    finally:
        providers.close()
        await stuck.stop()
        await working.stop()
