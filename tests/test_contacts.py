"""Reaching people beyond Slack, end to end (SPEC §2): contact methods added and verified by a code sent through
them, rules that time each method, pages that reach a real SMTP server and HTTP push receivers through Apprise,
the one-click acknowledge link, and providers that are down, slow or refuse.

Time moves only when the test moves the FakeClock; each `bot.tick()` is one scheduler tick.
"""

from __future__ import annotations

import asyncio
import json
import re

import aiohttp
import pytest
from sqlmodel import select

from bot.db.contact_models import ContactMethod, PageSend
from bot.db.models import Delivery, Page
from bot.http.tokens import page_token
from bot.slack.ids import ActionId
from tests.receivers import MailServer, PushServer
from tests.test_metrics import scrape
from tests.test_paging import dms_to, with_rotation

PHONE = "+49 151 23456789"


@pytest.fixture
async def servers():
    mail, push, sms = MailServer().start(), await PushServer().start(), await PushServer().start()
    yield mail, push, sms
    mail.stop()
    await push.stop()
    await sms.stop()


@pytest.fixture
async def paged(make_bot, servers):
    """The bot with every kind of provider set up, and the rotation `payments` (U0A, U0B, U0C) in place."""
    mail, push, sms = servers
    bot = await make_bot(public=True, notify_email_url=mail.url(), notify_push_url=push.ntfy_url(),
                         notify_sms_url=sms.json_url())
    await with_rotation(bot)
    bot.mail, bot.push, bot.sms = mail, push, sms
    return bot


async def say(bot, text: str, user: str) -> str:
    status, body, _ = await bot.slack.command(text, user=user)
    assert status == 200, body
    await bot.settle()
    return body


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text)[1]


async def add_verified(bot, user: str, kind: str, address: str) -> None:
    """`me contact add`, then the code that arrived through the method itself sent back."""
    receiver = {"email": bot.mail.mails, "push": bot.push.pushes, "sms": bot.sms.pushes}[kind]
    before = len(receiver)
    answer = await say(bot, f"me contact add {kind} {address}", user)
    assert answer.startswith("I sent a 6-digit code"), answer
    assert len(receiver) == before + 1
    arrived = receiver[-1]
    code = code_in(arrived.body if kind == "email" else arrived.text)
    answer = await say(bot, f"me contact verify {code}", user)
    assert "is verified" in answer, answer


def sends(bot) -> list[PageSend]:
    with bot.session() as s:
        return list(s.exec(select(PageSend).order_by(PageSend.id)))


def link_in(text: str) -> str:
    return re.search(r"(http://\S+/ack/\S+)", text)[1]


async def test_a_method_is_verified_by_the_code_sent_through_it_and_pages_nobody_before(paged):
    bot = paged
    answer = await say(bot, "me contact add email bob@example.com", "U0A")
    assert "bob@example.com" in answer and "pages nobody" in answer
    mail = bot.mail.mails[-1]
    assert mail.to == ["bob@example.com"] and "Firefighter code" in mail.subject
    await say(bot, "me rules slack 0, email 0", "U0A")
    await bot.declare("Checkout is down", priority="P0")
    assert len(bot.mail.mails) == 1  # unverified: the page went by Slack only
    assert len(dms_to(bot, "U0A")) == 1

    wrong = "000000" if code_in(mail.body) != "000000" else "111111"
    assert (await say(bot, f"me contact verify {wrong}", "U0A")).startswith("That code is not right")
    assert "is verified" in await say(bot, f"me contact verify {code_in(mail.body)}", "U0A")
    with bot.session() as s:
        method = s.exec(select(ContactMethod)).one()
    assert method.verified_at is not None and method.code_nonce is None
    assert code_in(mail.body) not in repr(method.model_dump())  # the code is never stored


async def test_bad_addresses_and_kinds_not_set_up_are_refused_and_change_nothing(make_bot, servers):
    mail, _, _ = servers
    bot = await make_bot(public=True, notify_email_url=mail.url())
    answer = await say(bot, "me contact add sms +15550001234", "U0A")
    assert answer.startswith("SMS is not set up on this workspace; the kinds that are: email"), answer
    assert (await say(bot, "me contact add email not-an-address", "U0A")).startswith("That is not an email address")
    assert (await say(bot, "me contact add fax 123", "U0A")).startswith("`fax` is not a kind of contact method")
    assert (await say(bot, "me rules sms 2m", "U0A")).startswith("SMS is not set up")
    assert (await say(bot, "me rules slack 0, slack 5", "U0A")) == "Slack is named twice."
    with bot.session() as s:
        assert s.exec(select(ContactMethod)).all() == []
    assert mail.mails == []


async def test_phone_numbers_are_stored_in_e164_and_texted_there(paged):
    bot = paged
    await add_verified(bot, "U0A", "sms", PHONE)
    assert bot.sms.pushes[-1].path == "/sms/+4915123456789"
    with bot.session() as s:
        assert s.exec(select(ContactMethod)).one().address == "+4915123456789"
    assert (await say(bot, "me contact add sms +1 555 0100", "U0A")).startswith("That is not a phone number")


async def test_each_method_goes_at_its_delay_unless_acknowledged_first(paged):
    bot = paged
    await add_verified(bot, "U0A", "email", "bob@example.com")
    await add_verified(bot, "U0A", "push", "bob-pager")
    assert (await say(bot, "me rules slack 0, push 1m, email 3m", "U0A")) == \
        "Your rules: slack 0, push 1m, email 3m."
    mails, pushes = len(bot.mail.mails), len(bot.push.pushes)
    incident = await bot.declare("Checkout is down", priority="P1")
    assert len(dms_to(bot, "U0A")) == 1 and len(bot.push.pushes) == pushes
    await bot.tick(seconds=59)
    assert len(bot.push.pushes) == pushes
    await bot.tick(seconds=1)
    assert len(bot.push.pushes) == pushes + 1
    push = bot.push.pushes[-1]
    assert push.body["topic"] == "bob-pager" and "You are paged as primary for INC-1 (P1)" in push.text
    assert push.headers.get("X-Priority") is None  # a P1 goes at the operator's priority
    await bot.tick()  # the same instant again: nothing is sent twice
    assert len(bot.push.pushes) == pushes + 1

    # Acknowledged by the push's link before the email's delay: the email never goes.
    async with aiohttp.ClientSession() as http, http.post(link_in(push.text)) as answer:
        assert answer.status == 200
    await bot.settle()
    await bot.tick(minutes=10)
    assert len(bot.mail.mails) == mails
    assert [(s.method, s.state) for s in sends(bot)] == [("slack", "sent"), ("push", "sent"), ("email", "skipped")]
    metrics = await scrape(bot)
    assert metrics[("firefighter_page_sends", (("method", "push"), ("state", "sent")))] == 1
    assert metrics[("firefighter_page_sends", (("method", "email"), ("state", "skipped")))] == 1
    texts = [e.text for e in bot.events(incident)]
    assert "paged <@U0A> by push: sent" in texts and "acknowledged via push link and took command " \
                                                         "(<@U0A> is commander)" in texts


async def test_a_p0_goes_at_the_providers_highest_priority(paged):
    bot = paged
    await add_verified(bot, "U0A", "push", "bob-pager")
    await say(bot, "me rules push 0", "U0A")
    await bot.declare("Checkout is down", priority="P0")
    assert bot.push.pushes[-1].headers.get("X-Priority") == "max"  # ntfy: max is 5, its highest
    assert dms_to(bot, "U0A") == []  # the rules name no Slack: the page is the push


async def test_escalating_starts_the_next_persons_rules_and_drops_what_the_first_still_had(paged):
    bot = paged
    await add_verified(bot, "U0A", "email", "alice@example.com")
    await add_verified(bot, "U0B", "push", "bob-pager")
    await say(bot, "me rules slack 0, email 10m", "U0A")
    await say(bot, "me rules push 0", "U0B")
    mails, pushes = len(bot.mail.mails), len(bot.push.pushes)
    await bot.declare("Checkout is down", priority="P0")
    await bot.tick(minutes=5)  # P0: unanswered for 5 min → the secondary
    assert len(bot.push.pushes) == pushes + 1 and "as secondary" in bot.push.pushes[-1].text
    await bot.tick(minutes=10)
    assert len(bot.mail.mails) == mails  # U0A's email was due after the chain had moved past them
    await bot.tick(minutes=30)
    assert len(bot.push.pushes) == pushes + 1  # each step once by each method


async def test_the_ack_link_get_changes_nothing_post_acknowledges_and_a_second_press_says_so(paged):
    bot = paged
    await add_verified(bot, "U0A", "email", "alice@example.com")
    await say(bot, "me rules slack 0, email 0", "U0A")
    incident = await bot.declare("Checkout is down", priority="P0")
    mail = bot.mail.mails[-1]
    assert "INC-1" in mail.subject and "Acknowledge:" in mail.body
    link = link_in(mail.body)
    async with aiohttp.ClientSession() as http:
        for _ in range(2):  # a mail scanner, a link preview
            async with http.get(link) as page:
                html = await page.text()
                assert page.status == 200 and "Acknowledge INC-1" in html and "<form method=\"post\"" in html
        await bot.settle()
        assert bot.incidents()[0].acknowledged_at is None and pages_state(bot) == ["waiting"]

        async with http.post(link) as pressed:
            assert pressed.status == 200 and "Acknowledged." in await pressed.text()
        await bot.settle()
        stored = bot.incidents()[0]
        assert stored.acknowledged_at is not None and stored.commander_id == "U0A"
        said = [p["text"] for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == incident.channel_id]
        assert ":eyes: <@U0A> acknowledged INC-1 via email link. They are the commander." in said
        dm = [u for u in bot.fake.calls_to("chat.update") if u["channel"] == "DU0A"][-1]
        assert "was acknowledged by <@U0A> via email link" in dm["text"]
        summary = [u for u in bot.fake.calls_to("chat.update") if u["channel"] == incident.channel_id][-1]
        assert "Page acknowledged by <@U0A> via email link" in json.dumps(summary["blocks"])
        token = page_token(bot.runtime.settings.web_secret, bot.clock.now())
        async with http.get(f"{bot.url}/incidents/1?token={token}") as web_page:  # each attempt on its web page
            assert "by email: sent" in await web_page.text()

        async with http.post(link) as again:
            assert again.status == 409 and "already acknowledged by you" in await again.text()
        async with http.get(link) as later:
            assert "<form method=\"post\"" not in await later.text()

        forged = link.rsplit(".", 1)[0] + ".AAAA"
        for url in (forged, link.replace("/ack/", "/ack/x")):
            async with http.post(url) as refused:
                assert refused.status == 404
    assert len([e for e in bot.events(incident) if e.kind == "acknowledged"]) == 1


async def paged_by_email_alone_with_mail_down(bot, priority: str):
    """U0A (the primary) is reached by email alone, and the mail server is down when the incident is declared."""
    await add_verified(bot, "U0A", "email", "alice@example.com")
    await say(bot, "me rules email 0", "U0A")
    bot.mail.stop()
    return await bot.declare("Checkout is down", priority=priority)


def pages_state(bot) -> list[str]:
    with bot.session() as s:
        return [p.state for p in s.exec(select(Page).order_by(Page.id))]


async def test_a_provider_down_for_minutes_delays_the_page_and_never_loses_or_doubles_it(paged):
    bot = paged
    incident = await paged_by_email_alone_with_mail_down(bot, "P1")
    for _ in range(4):
        await bot.tick(minutes=1)
    assert pages_state(bot) == ["queued"]  # nothing got through: the escalation timeout has not started
    failures = [e.text for e in bot.events(incident) if "failed" in e.text]
    assert failures and failures[0] == "email to <@U0A> failed (could not connect to the provider); trying again"
    bot.mail.start()
    mails = len(bot.mail.mails)
    await bot.tick(minutes=5)
    await bot.tick(minutes=5)
    assert len(bot.mail.mails) == mails + 1 and pages_state(bot) == ["waiting"]
    assert dms_to(bot, "U0A") == []
    texts = [e.text for e in bot.events(incident) if "email" in e.text]
    assert texts[0] == "email to <@U0A> failed (could not connect to the provider); trying again"
    assert re.fullmatch(r"paged <@U0A> by email: sent \(after \d+ failed attempts\)", texts[-1]), texts
    assert len(texts) == 2  # one line for the outage, one for the page that got through


async def test_a_provider_refusing_for_good_tells_the_owner_and_moves_the_chain_on(paged):
    bot = paged
    await add_verified(bot, "U0A", "push", "alice-pager")
    await say(bot, "me rules push 0", "U0A")
    bot.push.status = 401
    incident = await bot.declare("Checkout is down", priority="P1")
    told = [p["text"] for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == "U0A"]
    assert any("Your push contact method could not be reached" in t and "the provider answered 401" in t
               for t in told), told
    assert len(dms_to(bot, "U0B")) == 1  # nothing else could reach U0A: escalated at once
    assert any(e.text.startswith("push to <@U0A> failed for good (the provider answered 401) and nothing else "
                                 "can reach them; escalating to <@U0B>") for e in bot.events(incident))
    with bot.session() as s:
        failed = s.exec(select(Delivery).where(Delivery.kind == "contact_page")).one()
    assert failed.state == "failed" and failed.last_error == "the provider answered 401"


async def test_contacts_listing_test_and_remove_from_the_app_home(paged):
    bot = paged
    await add_verified(bot, "U0A", "push", "alice-pager")
    listing = await say(bot, "me contacts", "U0A")
    assert "*push* alice-pager — verified" in listing and "slack 0" in listing
    await bot.slack.event({"type": "app_home_opened", "user": "U0A", "channel": "D1", "tab": "home"})
    await bot.settle()
    home = bot.fake.calls_to("views.publish")[-1]["view"]
    actions = [e for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(e["action_id"], e["value"]) for e in actions] == [(ActionId.CONTACT_TEST, "push"),
                                                               (ActionId.CONTACT_REMOVE, "push")]
    pushes = len(bot.push.pushes)
    await bot.slack.click(ActionId.CONTACT_TEST, "push", user="U0A", view={"id": "VHOME", "type": "home"})
    await bot.settle()
    assert len(bot.push.pushes) == pushes + 1 and "This is a test" in bot.push.pushes[-1].text
    told = [p["text"] for p in bot.fake.calls_to("chat.postMessage") if p["channel"] == "U0A"]
    assert ":white_check_mark: push: the test went to alice-pager." in told
    await bot.slack.click(ActionId.CONTACT_REMOVE, "push", user="U0A", view={"id": "VHOME", "type": "home"})
    await bot.settle()
    with bot.session() as s:
        assert s.exec(select(ContactMethod)).all() == []
    assert (await say(bot, "me contact test", "U0A")).startswith("You have no verified contact method")


async def test_codes_are_limited_per_hour_so_nobody_can_flood_a_strangers_phone(paged):
    bot = paged
    for n in range(5):
        assert (await say(bot, f"me contact add sms +49 151 2345678{n}", "U0A")).startswith("I sent")
    assert (await say(bot, "me contact add sms +49 151 23456789", "U0A")).startswith("You have asked for 5 codes")
    assert len(bot.sms.pushes) == 5
    # Only the last code counts: the others were for addresses replaced since.
    old = code_in(bot.sms.pushes[0].text)
    if old != code_in(bot.sms.pushes[-1].text):
        assert (await say(bot, f"me contact verify {old}", "U0A")).startswith("That code is not right")
    bot.clock.advance(hours=1, seconds=1)
    assert (await say(bot, "me contact add sms +49 151 23456789", "U0A")).startswith("I sent")


async def test_a_provider_that_hangs_holds_only_its_own_sends(paged, monkeypatch):
    from bot.delivery import providers

    monkeypatch.setattr(providers, "SEND_TIMEOUT", 1.0)
    bot = paged
    await add_verified(bot, "U0A", "push", "alice-pager")
    await say(bot, "me rules slack 0, push 0", "U0A")
    bot.push.delay, answered = 3.0, len(bot.push.answered)
    view = await bot.open_declare(user="U0REPORTER")
    status, _, _ = await bot.slack.submit(view, {"title": "Checkout is down", "priority": "P0"}, user="U0REPORTER")
    assert status == 200
    for _ in range(100):  # the DM and the incident's set-up go while the push hangs
        if dms_to(bot, "U0A") and bot.fake.calls_to("pins.add"):
            break
        await bot.fake.wait_for("chat.postMessage", len(bot.fake.calls_to("chat.postMessage")) + 1, timeout=2)
    assert dms_to(bot, "U0A") and len(bot.push.answered) == answered
    await bot.settle()
    incident = bot.incidents()[0]
    assert "push to <@U0A> failed (no answer in time); trying again" in [e.text for e in bot.events(incident)]
    bot.push.delay = 0
    await bot.tick(minutes=1)
    assert any("You are paged" in p.text for p in bot.push.pushes)
    assert [(s.method, s.state) for s in sends(bot)] == [("slack", "sent"), ("push", "sent")]


async def test_a_send_held_up_by_a_provider_outage_is_dropped_once_the_page_is_answered(paged):
    bot = paged
    await add_verified(bot, "U0A", "email", "alice@example.com")
    await say(bot, "me rules slack 0, email 0", "U0A")
    bot.mail.stop()
    await bot.declare("Checkout is down", priority="P1")
    await bot.tick(minutes=1)
    await bot.slack.click(ActionId.ACKNOWLEDGE, "1", user="U0A", channel=bot.incidents()[0].channel_id)
    await bot.settle()
    bot.mail.start()
    mails = len(bot.mail.mails)
    await bot.tick(minutes=5)
    assert len(bot.mail.mails) == mails
    assert [(s.method, s.state, s.outcome) for s in sends(bot)] == [
        ("slack", "sent", "sent"), ("email", "skipped", "answered or escalated past before it went out")]


async def test_a_page_that_reaches_nobody_escalates_after_its_timeout_from_its_start(paged):
    """One person's rules never hold the chain: their only provider down, the page still moves on in time."""
    bot = paged
    incident = await paged_by_email_alone_with_mail_down(bot, "P0")
    await bot.tick(minutes=4, seconds=59)
    assert dms_to(bot, "U0B") == []
    await bot.tick(seconds=1)
    assert len(dms_to(bot, "U0B")) == 1
    assert "<@U0A> did not acknowledge within 5 min; escalating to <@U0B>" in [e.text for e in bot.events(incident)]
    failures = [e.text for e in bot.events(incident) if "failed" in e.text]
    assert failures == ["email to <@U0A> failed (could not connect to the provider); trying again"]  # once


async def test_codes_allow_five_guesses_even_side_by_side_and_no_code_goes_to_an_address_someone_awaits(paged):
    bot = paged
    await say(bot, "me contact add email alice@example.com", "U0A")
    code = code_in(bot.mail.mails[-1].body)
    wrong = [f"{(int(code) + n) % 10**6:06d}" for n in range(1, 6)]
    answers = await asyncio.gather(*(bot.slack.command(f"me contact verify {w}", user="U0A") for w in wrong))
    assert all(body.startswith("That code is not right") for _, body, _ in answers)
    assert (await say(bot, f"me contact verify {code}", "U0A")).startswith("That code is not right")
    assert (await say(bot, "me contact add email alice@example.com", "U0B")).startswith(
        "A code sent to that address is waiting for someone else")
    with bot.session() as s:
        assert s.exec(select(ContactMethod)).one().verified_at is None
