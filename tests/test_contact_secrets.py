"""The providers' secrets (the operator's Apprise URLs) never reach the database, the logs, /healthz, /metrics or any
message — checked by grepping everything a run produced for them, through sends that go, fail for a while and
fail for good."""

from __future__ import annotations

import json
import logging

import aiohttp
import sqlalchemy as sa
from sqlmodel import SQLModel

from bot.db import contact_models, edge_models, models, schedule_models  # noqa: F401  (every table on SQLModel.metadata)
from bot.http.tokens import page_token
from tests.receivers import MailServer, PushServer
from tests.test_contacts import add_verified, say
from tests.test_paging import with_rotation

SMS_SECRET, PUSH_SECRET, PATH_SECRET = "sms-S3CRET-token-4711", "push-S3CRET-token-0815", "path-S3CRET-9"


async def test_provider_secrets_are_never_stored_logged_or_shown(make_bot, caplog):
    caplog.set_level(logging.DEBUG)
    mail, push, sms = MailServer().start(), await PushServer().start(), await PushServer().start()
    try:
        bot = await make_bot(public=True, notify_email_url=mail.url(), notify_push_url=push.ntfy_url(PUSH_SECRET),
                             notify_sms_url=sms.json_url(SMS_SECRET, PATH_SECRET))
        await with_rotation(bot)
        bot.mail, bot.push, bot.sms = mail, push, sms
        await add_verified(bot, "U0A", "sms", "+49 151 23456789")
        await add_verified(bot, "U0A", "push", "alice-pager")
        await say(bot, "me rules slack 0, sms 0, push 0", "U0A")
        await sms.stop()  # down for a while (nothing listens): failures on the timeline, with our reason
        push.status = 401  # refused for good: the owner is told
        await bot.declare("Checkout is down", priority="P0")
        await bot.tick(minutes=1)
        await sms.start()
        await bot.tick(minutes=1)
        await say(bot, "me contacts", "U0A")
        assert sms.pushes[-1].text.startswith("You are paged")

        seen = [json.dumps([c.method, c.args], default=str) for c in bot.fake.calls]  # every Slack call
        with bot.session() as session:
            for table in SQLModel.metadata.sorted_tables:
                seen += [repr(tuple(row)) for row in session.execute(sa.select(table))]
        seen += [record.getMessage() for record in caplog.records]
        async with aiohttp.ClientSession() as http:
            token = page_token(bot.runtime.settings.web_secret, bot.clock.now())
            for path in ("/healthz", f"/healthz?token={token}", "/metrics"):
                async with http.get(bot.url + path) as answer:
                    seen.append(await answer.text())
        everything = "\n".join(seen)
        assert "the provider answered 401" in everything and "could not connect to the provider" in everything
        for secret in (SMS_SECRET, PUSH_SECRET, PATH_SECRET, "S3CRET"):
            assert secret not in everything
    finally:
        mail.stop()
        await push.stop()
        await sms.stop()
