"""The board in a real browser: headless Chromium from the OS packages, driven by playwright."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.web_tokens import page_token
from tests.conftest import cannot_run

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
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
