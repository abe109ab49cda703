"""Mail subscribers of the status page, with a real SMTP server (aiosmtpd) behind NOTIFY_EMAIL_URL: the subscribe
form, double opt-in (nothing but the confirmation until its link is opened), per-component choice, an unsubscribe
link in every mail that a mail scanner opening it cannot use, and a form that cannot mail-bomb a stranger (one
confirmation a day per address, a few asks per client). Addresses are shown to nobody. SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from bot.db.status_models import StatusSubscriber
from tests.receivers import MailServer
from tests.test_paging import with_rotation
from tests.test_private_doors import said
from tests.test_status_page import page, publish


@pytest.fixture
async def mailing(make_bot):
    mail = MailServer().start()
    bot = await make_bot(public=True, admins="U0ADMIN", status_page=True, status_page_title="Acme",
                         notify_email_url=mail.url())
    await with_rotation(bot)
    for text in ("status component add API", "status component add Docs"):
        await said(bot, text, "U0ADMIN")
    yield bot, mail
    mail.stop()


async def subscribe(bot, email: str, components: tuple[str, ...] = ()) -> tuple[int, str]:
    data = [("email", email), *(("component", c) for c in components)]
    async with bot.slack.session.post(f"{bot.url}/status/subscribe", data=data) as response:
        return response.status, await response.text()


async def delivered(bot, mail: MailServer, count: int) -> list:
    for _ in range(40):
        await bot.tick(seconds=2)
        if len(mail.mails) >= count:
            break
    return mail.mails


def link(body: str, kind: str) -> str:
    return re.search(rf"(/status/{kind}/[\w-]+)", body).group(1)


async def test_double_opt_in_components_and_unsubscribe(mailing):
    bot, mail = mailing
    status, html = await subscribe(bot, "Ana@Example.com")
    assert status == 200 and "a message with a link to confirm is on its way" in html
    [confirmation] = await delivered(bot, mail, 1)
    assert confirmation.to == ["ana@example.com"] and confirmation.subject == "Confirm your subscription to Acme"
    incident = await bot.declare("Checkout 500s", priority="P2", commander="U0COMMANDER")
    await publish(bot, incident)
    await delivered(bot, mail, 2)
    assert len(mail.mails) == 1  # not confirmed: nothing but the confirmation
    async with bot.slack.session.get(f"{bot.url}{link(confirmation.body, 'confirm')}") as response:
        assert response.status == 200 and "Receive the status page" in await response.text()  # a scanner's GET
    await publish(bot, await bot.declare("Docs slow", priority="P2", commander="U0COMMANDER"))
    await delivered(bot, mail, 2)
    assert len(mail.mails) == 1  # …confirmed nothing
    async with bot.slack.session.post(f"{bot.url}{link(confirmation.body, 'confirm')}") as response:
        assert response.status == 200 and "Subscribed" in await response.text()
    await subscribe(bot, "docs-only@example.com", ("2",))  # Docs' id: follows Docs alone
    await delivered(bot, mail, 2)
    async with bot.slack.session.post(f"{bot.url}{link(mail.mails[1].body, 'confirm')}") as response:
        assert response.status == 200
    await said(bot, f"status update INC-{incident.number} A fix is rolling out.", "U0COMMANDER")
    mails = await delivered(bot, mail, 3)
    assert [m.to for m in mails[2:]] == [["ana@example.com"]]  # the API incident: not docs-only
    update = mails[2]
    assert update.subject == "Payments are failing for some customers (investigating)"
    assert "A fix is rolling out." in update.body and "/status/unsubscribe/" in update.body
    async with bot.slack.session.get(f"{bot.url}{link(update.body, 'unsubscribe')}") as response:
        assert response.status == 200 and "Stop the status page" in await response.text()  # a scanner's GET
    with bot.session() as session:
        assert len(session.exec(select(StatusSubscriber)).all()) == 2  # …changes nothing
    async with bot.slack.session.post(f"{bot.url}{link(update.body, 'unsubscribe')}") as response:
        assert response.status == 200 and "Unsubscribed" in await response.text()
    await said(bot, f"status update INC-{incident.number} Fixed for most.", "U0COMMANDER")
    await delivered(bot, mail, 4)
    assert len(mail.mails) == 3
    for path in ("/status", "/status.json", "/status.atom"):
        assert "ana@example.com" not in (await page(bot, path))[1]


async def test_the_form_cannot_mail_bomb_a_stranger(mailing):
    bot, mail = mailing
    for _ in range(3):
        status, _ = await subscribe(bot, "stranger@example.com")
        assert status == 200  # the same answer every time…
    await delivered(bot, mail, 2)
    assert len(mail.mails) == 1  # …but one confirmation a day
    assert (await subscribe(bot, "other@example.com"))[0] == 200
    assert (await subscribe(bot, "third@example.com"))[0] == 200
    status, html = await subscribe(bot, "fourth@example.com")  # the sixth ask from this client in ten minutes
    assert status == 429 and "Too many requests" in html
    status, html = await subscribe(bot, "not an address")
    assert status in (400, 429)
    with bot.session() as session:
        assert {s.email for s in session.exec(select(StatusSubscriber)).all()} == {
            "stranger@example.com", "other@example.com", "third@example.com"}


async def test_odd_input_is_a_clear_400(mailing):
    bot, _ = mailing
    for data in ([("email", "a\x00b@example.com")], [("email", "ok@example.com"), ("component", "²")],
                 [("email", "ok2@example.com"), ("component", "9" * 5000)]):
        async with bot.slack.session.post(f"{bot.url}/status/subscribe", data=data) as response:
            assert response.status in (200, 400), (data, response.status)
