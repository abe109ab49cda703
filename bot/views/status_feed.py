"""`/status.atom`: Atom 1.0 (RFC 4287), one entry per public update, newest first — what feed readers and chat
integrations subscribe to. Built with ElementTree, so every text is escaped as XML needs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from bot.domain.status_page import Page

ATOM = "http://www.w3.org/2005/Atom"
ENTRIES = 100


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def atom(page: Page) -> bytes:
    ET.register_namespace("", ATOM)
    host = urlsplit(page.url).hostname or "firefighter"
    feed = ET.Element(f"{{{ATOM}}}feed")
    updates = sorted(((i, u) for i in page.incidents for u in i.updates), key=lambda pair: (pair[1].at, pair[1].id),
                     reverse=True)
    ET.SubElement(feed, f"{{{ATOM}}}id").text = f"tag:{host},2026:status"
    ET.SubElement(feed, f"{{{ATOM}}}title").text = f"{page.name}: status"
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _iso(updates[0][1].at if updates else page.now)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=page.url)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", type="application/atom+xml", href=f"{page.url}.atom")
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = page.name
    for incident, update in updates[:ENTRIES]:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"tag:{host},2026:status-update-{update.id}"
        ET.SubElement(entry, f"{{{ATOM}}}title").text = f"{incident.title} ({update.status})"
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = _iso(update.at)
        ET.SubElement(entry, f"{{{ATOM}}}published").text = _iso(update.at)
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="text/html",
                      href=f"{page.url}#incident-{incident.id}")
        ET.SubElement(entry, f"{{{ATOM}}}content", type="text").text = update.body
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
