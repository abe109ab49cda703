"""The public status page (SPEC § Status page), with STATUS_PAGE=true: `/status` (server-rendered, readable without
script; times in UTC, in the reader's own zone with script), `/status.json` (Statuspage's summary shape) and
`/status.atom`. No token: it shows only what was published. Each is built once per change of what was published (or
per minute, for maintenance that begins) and served from memory meanwhile: it is what customers hammer in an
outage (SPEC § 7)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, tzinfo

from aiohttp import web

from bot.db import repo
from bot.domain.errors import UserError
from bot.domain.status_page import INDICATOR, LABEL, Page, day_bars, summary
from bot.http.board import page_templates
from bot.services.status_page import StatusPage
from bot.services.status_subscribers import StatusSubscribers, TooMany
from bot.views.status_feed import atom

TEMPLATES = page_templates()
def _when(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%d %b %Y %H:%M")


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def render(page: Page, tz: tzinfo) -> str:
    by_id = {c.id: c for c in page.components}
    names = lambda ids: [by_id[i].name for i in ids if i in by_id]  # noqa: E731
    groups: dict[str | None, list[dict]] = {}
    today = page.now.astimezone(tz).date()
    for c in page.components:
        bars = day_bars(c, page.incidents, today, tz)
        bad = sum(1 for _, state in bars if state != "operational")
        groups.setdefault(c.group, []).append({
            "name": c.name, "state": page.states[c.id], "label": LABEL[page.states[c.id]],
            "bars": [(day.isoformat(), state, LABEL[state]) for day, state in bars],
            "summary": f"{bad} day{'s' if bad != 1 else ''} with trouble" if bad else "no trouble"})
    current = [{"id": i.id, "title": i.title, "state": i.state, "state_label": LABEL[i.state],
                "components": names(i.component_ids),
                "updates": [{"status": u.status, "body": u.body, "when": _when(u.at, tz), "iso": _iso(u.at)}
                            for u in reversed(i.updates)]} for i in page.incidents if i.resolved_at is None]
    resolved = [{"id": i.id, "title": i.title, "resolved": _when(i.resolved_at, tz),
                 "resolved_iso": _iso(i.resolved_at),
                 "last": i.updates[-1].body if i.updates and i.updates[-1].status == "resolved" else ""}
                for i in page.incidents if i.resolved_at is not None]
    maintenance = [{"id": w.id, "reason": w.reason or "Scheduled maintenance", "components": names(w.component_ids),
                    "from": _when(w.starts_at, tz), "to": _when(w.ends_at, tz), "from_iso": _iso(w.starts_at),
                    "to_iso": _iso(w.ends_at), "now": w.starts_at <= page.now} for w in page.maintenance]
    return TEMPLATES.get_template("status.html").render(
        name=page.name, overall=page.overall, overall_label=INDICATOR[page.overall][1], tz=str(tz),
        now=_when(page.now, tz), now_iso=_iso(page.now), incidents=current, resolved=resolved,
        maintenance=maintenance, groups=sorted(groups.items(), key=lambda g: (g[0] is not None, g[0] or "")),
        all_components=[(c.id, c.name) for c in page.components])


def message(heading: str, text: str, status: int = 200, action: str = "", button: str = "") -> web.Response:
    return web.Response(text=TEMPLATES.get_template("status_message.html").render(
        heading=heading, text=text, action=action, button=button), content_type="text/html", status=status)


def add_status_routes(app: web.Application, service: StatusPage, subscribers: StatusSubscribers,
                      db: repo.database.Database) -> None:
    built: dict[tuple, bytes] = {}

    async def cached(kind: str, page: Page, make) -> bytes:
        """One build per kind per version of the page, made off the event loop (Slack's requests do not wait)."""
        key = (kind, page.key)
        if key not in built:
            for old in [k for k in built if k[0] == kind]:
                del built[old]
            built[key] = await asyncio.to_thread(make)
        return built[key]

    async def status(_request: web.Request) -> web.Response:
        page = await db.run(service.page)  # (in UTC: the page's script shows each time in the reader's own zone)
        body = await cached("html", page, lambda: render(page, UTC).encode())
        return web.Response(body=body, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "public, max-age=30"})

    async def status_json(_request: web.Request) -> web.Response:
        page = await db.run(service.page)
        body = await cached("json", page, lambda: json.dumps(summary(page), separators=(",", ":")).encode())
        return web.Response(body=body, content_type="application/json",
                            headers={"Cache-Control": "public, max-age=30", "Access-Control-Allow-Origin": "*"})

    async def status_atom(_request: web.Request) -> web.Response:
        page = await db.run(service.page)
        body = await cached("atom", page, lambda: atom(page))
        return web.Response(body=body, content_type="application/atom+xml", charset="utf-8",
                            headers={"Cache-Control": "public, max-age=30"})

    async def subscribe(request: web.Request) -> web.Response:
        try:
            form = await request.post()
        except ValueError:
            return message("Not subscribed", "Send the form from the status page.", 400)
        chosen = [int(v) for v in form.getall("component", [])[:100]
                  if isinstance(v, str) and v.isascii() and v.isdigit() and len(v) < 10]
        email = form.get("email")
        try:
            said = await db.run(subscribers.subscribe, email if isinstance(email, str) else "", chosen,
                                request.remote or "?")
        except UserError as exc:
            return message("Not subscribed", str(exc), 400)
        except TooMany:
            return message("Not now", "Too many requests from here: try again in a few minutes.", 429)
        return message("Check your inbox", said)

    def by_button(path: str, question: str, button: str, act, done: tuple[str, str]) -> None:
        """A mailed link: opening it (or a mail scanner fetching it) only asks; its button (a POST, as one-click
        mail clients send too) does it."""
        async def ask(request: web.Request) -> web.Response:
            return message(button, question, 200, f"{path}/{request.match_info['token'][:64]}", button)

        async def do(request: web.Request) -> web.Response:
            if await db.run(act, request.match_info["token"][:64]):
                return message(*done)
            return message("Not found", "This link is not valid (any more).", 404)
        app.router.add_get(f"{path}/{{token}}", ask)
        app.router.add_post(f"{path}/{{token}}", do)

    app.router.add_post("/status/subscribe", subscribe)
    by_button("/status/confirm", "Receive the status page's updates at this address?", "Confirm", subscribers.confirm,
              ("Subscribed", "You will get the status page's updates by mail; each has a link to stop."))
    by_button("/status/unsubscribe", "Stop the status page's mail to this address?", "Unsubscribe",
              subscribers.unsubscribe, ("Unsubscribed", "You will get no more mail from the status page."))
    app.router.add_get("/status", status)
    app.router.add_get("/status.json", status_json)
    app.router.add_get("/status.atom", status_atom)
