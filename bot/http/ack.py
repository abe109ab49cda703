"""`/ack/<token>`: a page's one-click acknowledge link (SPEC §2 "Reaching people beyond Slack").

The GET shows the page and one "Acknowledge INC-n" button and changes nothing — mail scanners and chat link previews
open links. The POST (the button) acknowledges through the same change as the page's button in Slack, as the person
the page went to; the token is the proof (signed, theirs, for that page), good only while that page is open.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.config import Settings
from bot.db import repo
from bot.domain.errors import UserError
from bot.http.board import page_templates
from bot.http.tokens import ack_claims
from bot.services.ack_links import AckLinks

log = logging.getLogger(__name__)


def add_ack_routes(app: web.Application, settings: Settings, links: AckLinks, db: repo.database.Database,
                   now) -> None:
    template = page_templates().get_template("ack.html")

    def render(status: int, heading: str, message: str = "", page=None, action: str = "",
               done: bool = False) -> web.Response:
        body = template.render(heading=heading, message=message, page=page, action=action, done=done, viewer=None,
                               sign_in=False, path="")
        return web.Response(text=body, status=status, content_type="text/html",
                            headers={"Cache-Control": "no-store"})

    def refused() -> web.Response:
        return render(404, "This link does not work",
                      "It is not a page's link, or it is too old. Acknowledge from Slack instead.")

    async def show(request: web.Request) -> web.Response:
        claims = ack_claims(settings.web_secret or "", request.match_info["token"], now())
        if claims is None:
            return refused()
        page_id, user, _method = claims
        page = await db.run(links.page, page_id, user)
        if page is None:
            return refused()
        return render(200, f"Acknowledge {page.ref}", page.why_not, page,
                      action=request.path)

    async def press(request: web.Request) -> web.Response:
        claims = ack_claims(settings.web_secret or "", request.match_info["token"], now())
        if claims is None:
            return refused()
        page_id, user, method = claims
        try:
            changed = await db.run_background(links.acknowledge, page_id, user, method)
        except UserError:
            page = await db.run(links.page, page_id, user)
            if page is None:
                return refused()
            return render(409, f"{page.ref}: nothing to do", page.why_not or "Nothing to do.", page, done=True)
        page = await db.run(links.page, page_id, user)
        if not changed.changed or changed.replayed:  # pressed again (or in another tab): it was done before
            return render(409, f"{page.ref if page else 'The page'}: nothing to do",
                          (page.why_not if page else "") or "It was already acknowledged.", page, done=True)
        return render(200, f"{page.ref if page else 'The page'} is acknowledged",
                      "Acknowledged. The incident's channel in Slack says so.", page, done=True)

    app.router.add_get("/ack/{token}", show)
    app.router.add_post("/ack/{token}", press)
