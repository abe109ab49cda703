"""The status page in a real browser (headless Chromium from the OS packages): its headings in order, every form
field labelled, the states said in words, text contrast of at least WCAG AA's 4.5:1 (computed from the browser's
own colours), times shown in the reader's zone by its script, and the same page readable with script off."""

from __future__ import annotations

import re

from tests.test_board_browser import ARTIFACTS, FLAGS, chromium  # noqa: F401 (a fixture)
from tests.test_status_page import publish, status_bot  # noqa: F401 (a fixture)

CONTRAST = """() => {
  const lum = (c) => { const [r, g, b] = c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number).map(v => v / 255)
      .map(v => v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
    return 0.2126*r + 0.7152*g + 0.0722*b; };
  const bg = (el) => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor;
      if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return c; } return 'rgb(255, 255, 255)'; };
  const worst = [];
  for (const el of document.querySelectorAll('h1, h2, h3, p, li, td, th, label, a, button, legend')) {
    if (!el.innerText.trim() || el.closest('.visually-hidden') || el.classList.contains('bar')) continue;
    const a = lum(getComputedStyle(el).color), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) worst.push([el.tagName, el.innerText.slice(0, 40), ratio.toFixed(2)]);
  }
  return worst;
}"""


async def test_the_status_page_in_chromium(status_bot, chromium):  # noqa: F811
    from playwright.async_api import async_playwright

    bot = status_bot
    incident = await bot.declare("Checkout 500s", priority="P1", commander="U0COMMANDER")
    await publish(bot, incident)
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=FLAGS)
        try:
            context = await browser.new_context(timezone_id="America/New_York", locale="en-US")
            page = await context.new_page()
            await page.goto(f"{bot.url}/status")
            headings = await page.locator("h1, h2, h3").all_inner_texts()
            assert headings[:3] == ["Acme", "Partial System Outage", "Current incidents"]
            assert "Components" in headings and "Get updates by mail" in headings
            for field in await page.locator("input:not([type=hidden])").all():
                field_id = await field.get_attribute("id")
                labelled = (field_id and await page.locator(f'label[for="{field_id}"]').count()) or \
                    await field.evaluate("el => !!el.closest('label')")
                assert labelled, await field.evaluate("el => el.outerHTML")
            assert await page.locator("td.state", has_text="Partial outage").count() == 1  # in words too
            assert await page.evaluate(CONTRAST) == []
            assert await page.locator(".zone").inner_text() == "America/New_York"  # the script ran
            shown = await page.locator("article time").first.inner_text()
            assert not re.search(r"\b12:00\b", shown), shown  # (noon UTC is 07:00 in New York)
            await page.screenshot(path=str(ARTIFACTS / "status.png"), full_page=True)
            quiet = await browser.new_context(java_script_enabled=False)
            plain = await quiet.new_page()
            await plain.goto(f"{bot.url}/status")
            assert await plain.locator(".zone").inner_text() == "UTC"
            assert "Payments are failing for some customers" in await plain.locator("main").inner_text()
        finally:
            await browser.close()
