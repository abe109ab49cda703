"""The board in a real browser: headless Chromium from the OS packages, driven by playwright."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlmodel import select

from bot.db.models import Incident, TimelineEvent
from bot.http.tokens import page_token
from tests.conftest import cannot_run
from tests.test_paging import with_rotation

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AVATAR = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 20 20"><rect width="20" height="20" rx="4" '
          'fill="#4a154b"/><circle cx="10" cy="8" r="4" fill="#fff"/><rect x="3" y="13" width="14" height="7" rx="3" '
          'fill="#fff"/></svg>')
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@pytest.fixture
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        cannot_run("Chromium is not installed here (apt-get install chromium): the browser test cannot run")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        cannot_run("playwright is not installed (make install)")
    return CHROMIUM


async def test_the_board_in_chromium(bot, chromium):
    from playwright.async_api import async_playwright

    first = await bot.declare("Checkout is down for EU users", priority="P0", commander="U0COMMANDER")
    await bot.declare("Search is slow", priority="P1", commander="U0COMMANDER")
    await bot.slack.command("status INC-2 blocked waiting on the vendor", user="U0COMMANDER")
    await bot.settle()
    link = f"{bot.url}/board?token={page_token(bot.runtime.settings.web_secret, bot.clock.now())}"
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=FLAGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.goto(link)
            columns = await page.locator("section.column h2 span:first-child").all_inner_texts()
            assert columns == ["New", "Triaged", "In progress", "Blocked", "Resolved (last 7 days)"]
            assert await page.locator('[data-column="new"] [data-incident="INC-1"]').count() == 1
            assert await page.locator('[data-column="blocked"] [data-incident="INC-2"]').count() == 1
            await page.screenshot(path=str(ARTIFACTS / "board.png"), full_page=True)
            await page.locator('[data-incident="INC-1"] a').click()
            await page.wait_for_url(f"**/incidents/{first.number}**")
            assert "INC-1: Checkout is down for EU users" in await page.locator("h1").inner_text()
            assert await page.locator("table tr").count() >= 2  # the timeline
            await page.screenshot(path=str(ARTIFACTS / "incident.png"), full_page=True)
        finally:
            await browser.close()


async def test_sign_in_and_work_the_queue_in_chromium(make_bot, chromium):
    """Sign in with Slack, drag a card from New to In progress, move another with the keyboard: the stored status,
    the timeline event and the message in the incident's channel are those of the `/incident status` command."""
    from playwright.async_api import async_playwright

    from tests.test_sign_in import CLIENT

    bot = await make_bot(public=True, **CLIENT)
    bot.fake.now = lambda: bot.clock.now().timestamp()
    bot.fake.add_user("U0COMMANDER", name="Cora Chen")
    bot.fake.signs_in = "U0COMMANDER"
    await with_rotation(bot, people=(("U0A", "UTC"), ("U0B", "UTC")), at=bot.clock.now())
    for user, name in (("U0A", "Ana Alves"), ("U0B", "Bo Berg"), ("U0REPORTER", "Ravi Rao")):
        bot.fake.add_user(user, name=name)
    await bot.runtime.services.people.refresh(["U0A", "U0B", "U0REPORTER"])
    dragged = await bot.declare("Checkout is down for EU users", priority="P1", commander="U0COMMANDER")
    keyed = await bot.declare("Search is slow", priority="P1", commander="U0COMMANDER")
    await bot.declare("Payments webhook retries", priority="P0", commander="U0COMMANDER")
    await bot.tick(minutes=70)  # names learnt; the P0's update is late
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=FLAGS)
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 900})
            refused = []  # what the pages' Content-Security-Policy blocked (inline script or style): nothing
            page.on("console", lambda message: refused.append(message.text)
                    if "Content Security Policy" in message.text else None)
            await page.route("https://avatars.slack-edge.example/**", lambda route: route.fulfill(
                content_type="image/svg+xml", body=AVATAR))  # Slack's picture server, as the page would load it
            await page.goto(f"{bot.url}/board")  # no link, not signed in: refused, with the way in
            assert "/auth/slack/login" in await page.content()
            await page.goto(f"{bot.url}/auth/slack/login?next=/board")
            await page.wait_for_url(f"{bot.url}/board")
            assert "Signed in as" in await page.locator("header").inner_text()
            assert await page.locator("header").evaluate("h => getComputedStyle(h).backgroundColor") == \
                "rgb(17, 24, 39)", "the stylesheet from /static applies"
            assert "Cora Chen" in await page.locator('[data-incident="INC-1"]').inner_text()
            p0 = await page.locator('[data-incident="INC-3"]').inner_text()
            assert "triage missed by 40m" in p0 and "update late by 10m" in p0  # targets at a glance
            assert "P1 target due in" in await page.locator('[data-incident="INC-1"]').inner_text()
            await page.screenshot(path=str(ARTIFACTS / "board-signed-in.png"), full_page=True)

            before = len(bot.fake.calls_to("chat.postMessage"))
            card = page.locator(f'[data-column="new"] [data-incident="INC-{dragged.number}"]')
            async with page.expect_navigation():  # the move reloads the page; its keys work once board.js ran
                await card.drag_to(page.locator('[data-column="in_progress"]'))
            moved = page.locator(f'[data-column="in_progress"] [data-incident="INC-{dragged.number}"]')
            await moved.wait_for()
            await bot.settle()

            keyboard = page.locator(f'[data-incident="INC-{keyed.number}"]')
            await keyboard.focus()
            async with page.expect_navigation():
                for key in ("Space", "ArrowRight", "ArrowRight", "ArrowRight", "Space"):  # New → … → Blocked
                    await page.keyboard.press(key)
            await page.locator(f'[data-column="blocked"] [data-incident="INC-{keyed.number}"]').wait_for()
            await bot.settle()
            # Picking one card up, then pressing Space on another: the first is put back, nothing moves.
            await page.locator('[data-incident="INC-3"]').focus()
            for key in ("Space", "ArrowRight", "ArrowRight", "ArrowRight"):  # INC-3 held over Blocked …
                await page.keyboard.press(key)
            await page.locator(f'[data-incident="INC-{dragged.number}"]').focus()  # … Space on INC-1
            for key in ("Space", "Escape"):
                await page.keyboard.press(key)
            await bot.settle()
            await page.screenshot(path=str(ARTIFACTS / "board.png"), full_page=True)

            await page.locator(f'[data-incident="INC-{dragged.number}"] a').click()
            await page.wait_for_url(f"**/incidents/{dragged.number}**")
            timeline = await page.locator("table").first.inner_text()
            assert "Cora Chen" in timeline and "paged @Ana Alves (primary)" in timeline and "<@" not in timeline
            await page.screenshot(path=str(ARTIFACTS / "incident.png"), full_page=True)
            await page.goto(f"{bot.url}/rotations/payments")
            assert "Ana Alves" in await page.locator("table").first.inner_text()
            await page.screenshot(path=str(ARTIFACTS / "rotation.png"), full_page=True)
            await page.goto(f"{bot.url}/stats")
            assert await page.locator("figure svg").count() == 5
            await page.screenshot(path=str(ARTIFACTS / "stats.png"), full_page=True)
            assert refused == [], refused
        finally:
            await browser.close()
    with bot.session() as s:
        assert s.exec(select(Incident).where(Incident.number == 3)).one().status == "new"
    for incident, status, text in ((dragged, "in_progress", "New → In progress"), (keyed, "blocked", "New → Blocked")):
        with bot.session() as s:
            assert s.get(Incident, incident.id).status == status
            events = s.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident.id,
                                                        TimelineEvent.kind == "status")).all()
        assert [(e.actor_id, e.text) for e in events] == [("U0COMMANDER", text)]
        said = [m["text"] for m in bot.fake.calls_to("chat.postMessage")[before:]
                if m["channel"] == incident.channel_id]
        assert any("<@U0COMMANDER>" in t for t in said), said
