"""The public status page (SPEC § Status page), as pure rules over what was published: each component's state, the
page's overall state, 90 days of bars, and the page in the shape of Atlassian Statuspage's `/api/v2/summary.json`
(developer.statuspage.io: `page`, `status.indicator`, `components`, `incidents`, `scheduled_maintenances`; component
status operational | degraded_performance | partial_outage | major_outage | under_maintenance; indicator none |
minor | major | critical | maintenance), so the monitors and widgets people already use read it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

OUTAGES = ("degraded_performance", "partial_outage", "major_outage")  # what a published incident says, worst last
LABEL = {"operational": "Operational", "degraded_performance": "Degraded performance",
         "partial_outage": "Partial outage", "major_outage": "Major outage", "under_maintenance": "Under maintenance"}
INDICATOR = {"operational": ("none", "All Systems Operational"),
             "degraded_performance": ("minor", "Minor Service Outage"),
             "partial_outage": ("major", "Partial System Outage"), "major_outage": ("critical", "Major Service Outage"),
             "under_maintenance": ("maintenance", "Service Under Maintenance")}
IMPACT = {"degraded_performance": "minor", "partial_outage": "major", "major_outage": "critical"}
_RANK = {"operational": 0, "under_maintenance": 1, "degraded_performance": 2, "partial_outage": 3, "major_outage": 4}
DAYS = 90


@dataclass(frozen=True)
class Component:
    id: int
    name: str
    group: str | None
    created_at: datetime


@dataclass(frozen=True)
class Update:
    id: int
    status: str  # investigating | resolved
    body: str
    at: datetime


@dataclass(frozen=True)
class Published:
    id: int
    title: str
    state: str
    published_at: datetime
    resolved_at: datetime | None
    component_ids: tuple[int, ...]
    updates: tuple[Update, ...] = ()  # oldest first

    def open_at(self, moment: datetime) -> bool:
        return self.published_at <= moment and (self.resolved_at is None or moment < self.resolved_at)


@dataclass(frozen=True)
class Maintenance:
    id: int
    reason: str
    starts_at: datetime
    ends_at: datetime
    component_ids: tuple[int, ...]


@dataclass(frozen=True)
class Page:
    """Everything the page, its JSON and its feed show, as of `now`."""

    name: str
    url: str
    now: datetime
    components: tuple[Component, ...]
    incidents: tuple[Published, ...]  # published in the last DAYS days or still open
    maintenance: tuple[Maintenance, ...] = ()  # going on or to come
    states: dict[int, str] = field(default_factory=dict)
    key: tuple = ()  # what it was built from: the same key, the same page (what is served from memory keys on it)

    @property
    def overall(self) -> str:
        """The worst of the components and of the open incidents (one that names no component counts too)."""
        return worst([*self.states.values(), *(i.state for i in self.incidents if i.resolved_at is None)])


def worst(states) -> str:
    return max(states, key=lambda s: _RANK[s], default="operational")


def component_states(components: Sequence[Component], incidents: Sequence[Published],
                     maintenance: Sequence[Maintenance], now: datetime) -> dict[int, str]:
    """The worst of the open published incidents naming it; under maintenance during a window naming it."""
    states = {c.id: "operational" for c in components}
    for window in maintenance:
        if window.starts_at <= now < window.ends_at:
            for cid in window.component_ids:
                if cid in states:
                    states[cid] = worst((states[cid], "under_maintenance"))
    for incident in incidents:
        if incident.open_at(now):
            for cid in incident.component_ids:
                if cid in states:
                    states[cid] = worst((states[cid], incident.state))
    return states


def day_bars(component: Component, incidents: Sequence[Published], today: date, tz: tzinfo,
             days: int = DAYS) -> list[tuple[date, str]]:
    """The last `days` days, oldest first: each day's worst state of the component (days before it existed too)."""
    bars = []
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        start = datetime.combine(day, time(0), tzinfo=tz)
        end = start + timedelta(days=1)
        states = [i.state for i in incidents if component.id in i.component_ids and i.published_at < end
                  and (i.resolved_at is None or i.resolved_at > start)]
        bars.append((day, worst(states)))
    return bars


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def summary(page: Page) -> dict:
    """`/status.json`, in the shape of Statuspage's `/api/v2/summary.json`."""
    page_id = "firefighter"
    updated = max([page.now - timedelta(days=DAYS)] + [u.at for i in page.incidents for u in i.updates]
                  + [c.created_at for c in page.components])
    groups = sorted({c.group for c in page.components if c.group})
    components = [{"id": f"group-{n}", "name": name, "status": worst(page.states[c.id] for c in page.components
                                                                     if c.group == name),
                   "created_at": _iso(min(c.created_at for c in page.components if c.group == name)),
                   "updated_at": _iso(updated), "position": n, "description": None, "showcase": True,
                   "start_date": None, "group_id": None, "page_id": page_id, "group": True,
                   "only_show_if_degraded": False,
                   "components": [str(c.id) for c in page.components if c.group == name]}
                  for n, name in enumerate(groups, start=1)]
    components += [{"id": str(c.id), "name": c.name, "status": page.states[c.id], "created_at": _iso(c.created_at),
                    "updated_at": _iso(updated), "position": len(groups) + n, "description": None, "showcase": True,
                    "start_date": None, "group_id": f"group-{groups.index(c.group) + 1}" if c.group else None,
                    "page_id": page_id, "group": False, "only_show_if_degraded": False}
                   for n, c in enumerate(page.components, start=1)]
    by_id = {c.id: c for c in page.components}

    def affected(ids: tuple[int, ...]) -> list[dict]:
        return [{"id": str(i), "name": by_id[i].name, "status": page.states.get(i, "operational")}
                for i in ids if i in by_id]

    incidents = [{
        "id": str(i.id), "name": i.title, "status": i.updates[-1].status if i.updates else "investigating",
        "created_at": _iso(i.published_at), "updated_at": _iso(i.updates[-1].at if i.updates else i.published_at),
        "monitoring_at": None, "resolved_at": _iso(i.resolved_at), "impact": IMPACT.get(i.state, "none"),
        "shortlink": f"{page.url}#incident-{i.id}", "started_at": _iso(i.published_at), "page_id": page_id,
        "incident_updates": [{"id": str(u.id), "status": u.status, "body": u.body, "incident_id": str(i.id),
                              "created_at": _iso(u.at), "updated_at": _iso(u.at), "display_at": _iso(u.at),
                              "affected_components": affected(i.component_ids), "deliver_notifications": True}
                             for u in reversed(i.updates)],
        "components": affected(i.component_ids)} for i in page.incidents if i.resolved_at is None]
    maintenances = [{
        "id": f"maintenance-{w.id}", "name": w.reason or "Scheduled maintenance",
        "status": "in_progress" if w.starts_at <= page.now else "scheduled", "created_at": _iso(w.starts_at),
        "updated_at": _iso(w.starts_at), "monitoring_at": None, "resolved_at": None, "impact": "maintenance",
        "shortlink": f"{page.url}#maintenance-{w.id}", "started_at": _iso(w.starts_at), "page_id": page_id,
        "incident_updates": [], "components": affected(w.component_ids), "scheduled_for": _iso(w.starts_at),
        "scheduled_until": _iso(w.ends_at)} for w in page.maintenance if w.ends_at > page.now]
    indicator, description = INDICATOR[page.overall]
    return {"page": {"id": page_id, "name": page.name, "url": page.url, "time_zone": "Etc/UTC",
                     "updated_at": _iso(updated)},
            "components": components, "incidents": incidents, "scheduled_maintenances": maintenances,
            "status": {"indicator": indicator, "description": description}}
