"""Everything `python -m bot import` reads of a source, in one shape for both: people (id, email), schedules
(with the teams that own them), their overrides, escalation policies, heartbeats (Opsgenie's). Read-only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.importers.opsgenie import Opsgenie
from bot.importers.pagerduty import PagerDuty

OVERRIDES_AHEAD = timedelta(days=365)  # PagerDuty wants a window; a year covers every override planned


@dataclass
class SourceData:
    source: str  # opsgenie | pagerduty
    title: str  # Opsgenie | PagerDuty
    emails: dict[str, str]  # user id there → email (lower-case)
    schedules: list[dict]
    teams: dict[str, list[str]]  # schedule id → the names of the teams that own it
    overrides: dict[str, list[dict]]  # schedule id → its overrides, each {id, user, start, end, rotations}
    policies: list[dict]
    heartbeats: list[dict] = field(default_factory=list)


async def read_pagerduty(client: PagerDuty, now: datetime, step: Callable[[str], Any] = lambda _: None) -> SourceData:
    step("users")
    users = await client.users()
    step("schedules")
    schedules = []
    for listed in await client.schedules():  # again, each on its own clock: restrictions come in the zone asked
        step(f"schedule {listed.get('name')}")
        schedules.append({**listed, **await client.schedule(listed["id"], str(listed.get("time_zone") or "UTC"))})
    overrides = {}
    for schedule in schedules:
        step(f"overrides of {schedule.get('name')}")
        overrides[schedule["id"]] = [
            {"id": o.get("id"), "user": (o.get("user") or {}).get("id"), "start": o.get("start"), "end": o.get("end"),
             "rotations": []} for o in await client.overrides(schedule["id"], now, now + OVERRIDES_AHEAD)]
    step("escalation policies")
    policies = await client.escalation_policies()
    return SourceData("pagerduty", "PagerDuty", {u["id"]: str(u.get("email") or "").lower() for u in users},
                      schedules, {s["id"]: [str(t.get("summary") or t.get("name") or "") for t in s.get("teams") or []]
                                  for s in schedules}, overrides, policies)


async def read_opsgenie(client: Opsgenie, now: datetime, step: Callable[[str], Any] = lambda _: None) -> SourceData:
    step("users")
    users = await client.users()
    step("schedules")
    schedules = await client.schedules()
    overrides = {}
    for schedule in schedules:
        step(f"overrides of {schedule.get('name')}")
        overrides[schedule["id"]] = [
            {"id": f"{schedule['id']}/{o.get('alias')}", "user": (o.get("user") or {}).get("id")
             if (o.get("user") or {}).get("type", "user") == "user" else None, "start": o.get("startDate"),
             "end": o.get("endDate"), "rotations": [r.get("id") for r in o.get("rotations") or []]}
            for o in await client.overrides(schedule["id"])]
    step("escalations")
    policies = await client.escalations()
    step("heartbeats")
    heartbeats = await client.heartbeats()
    return SourceData("opsgenie", "Opsgenie", {u["id"]: str(u.get("username") or "").lower() for u in users},
                      schedules, {s["id"]: [str((s.get("ownerTeam") or {}).get("name") or "")] for s in schedules},
                      overrides, policies, heartbeats)
