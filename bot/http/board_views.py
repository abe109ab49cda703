"""What the board's pages show, as pure functions beside them (bot/http/board.py reads, these shape): the data in,
the template's context out — the clock's `now`, the viewer's time zone and the people Slack named are arguments, so
each is tested without HTTP or a database (tests/test_board_views.py). Stored Slack text goes through web_text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo

from markupsafe import Markup

from bot.db.models import Incident, Person, Rotation
from bot.domain import reminders as rules
from bot.domain import targets
from bot.domain.business_hours import WorkingTime
from bot.domain.fairness import Load
from bot.domain.incident import incident_ref
from bot.domain.rotation import ROLES
from bot.domain.stats import humanize
from bot.http import web_text
from bot.services import Detail, RotationPlan
from bot.views import fairness as fairness_views

COLUMNS = (("new", "New"), ("triaged", "Triaged"), ("in_progress", "In progress"), ("blocked", "Blocked"),
           ("resolved", "Resolved (last 7 days)"))

People = dict[str, Person]
FeedEvent = tuple[str, str, datetime, datetime]  # (uid, summary, start, end)


def when(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%a %Y-%m-%d %H:%M %Z")


def _standing(incident: Incident, now: datetime, policy: rules.Policy, tz: tzinfo,
              hours_of: Mapping[str, WorkingTime]) -> tuple[list[dict], bool]:
    hours = hours_of.get(incident.commander_id) if incident.commander_id else None
    found = targets.standings(rules.facts_of(incident, None, hours), now, policy)
    return [{"text": s.text, "state": s.state, "due": when(s.due_at, tz)} for s in found], targets.missing(found)


def board_columns(found: Iterable[Incident], people: People, now: datetime, policy: rules.Policy, tz: tzinfo,
                  only_missing: bool = False, hours_of: Mapping[str, WorkingTime] | None = None) -> list[dict]:
    """The kanban: a column per status, a card per incident with its targets; `only_missing`: only the cards with a
    target missed."""
    found = list(found)
    columns = []
    for key, title in COLUMNS:
        cards = []
        for incident in (i for i in found if i.status == key):
            standing, overdue = _standing(incident, now, policy, tz, hours_of or {})
            if only_missing and not overdue:
                continue
            cards.append({
                "number": incident.number, "ref": incident_ref(incident.number), "title": incident.title,
                "priority": incident.priority, "commander": web_text.person(incident.commander_id, people),
                "age": humanize(now - incident.created_at),
                "quiet": humanize(now - (incident.last_update_at or incident.created_at)),
                "targets": standing, "overdue": overdue})
        columns.append({"key": key, "title": title, "cards": cards})
    return columns


def incident_people(detail: Detail) -> set[str]:
    """Everyone an incident's page names, mentions in its text included."""
    incident = detail.incident
    return {incident.commander_id, incident.reporter_id, incident.comms_id, incident.scribe_id, *detail.responders,
            *(e.actor_id for e in detail.events),
            *(f.owner for f in detail.follow_ups),
            *web_text.mentioned([*(e.text for e in detail.events), incident.postmortem,
                                 *(f.text for f in detail.follow_ups)])} - {None, ""}


def incident_view(detail: Detail, people: People, now: datetime, policy: rules.Policy, tz: tzinfo,
                  hours_of: Mapping[str, WorkingTime] | None = None) -> dict:
    """The context of incident.html."""
    incident = detail.incident
    events = [{"when": when(e.at, tz), "who": web_text.person(e.actor_id, people, "Firefighter"),
               "kind": e.kind, "text": web_text.slack_to_html(e.text, people)} for e in detail.events]
    follow_ups = [{"id": f.id, "text": web_text.slack_to_html(f.text, people),
                   "owner": web_text.person(f.owner, people),
                   "due": f.due_on.isoformat() if f.due_on else "", "done": f.done_at is not None}
                  for f in detail.follow_ups]
    storm_alerts = [{"priority": a.priority, "title": a.title, "url": a.url or "", "state": a.state,
                     "times": a.times, "first": when(a.first_at, tz)} for a in detail.storm_alerts]
    return {"incident": incident, "ref": incident_ref(incident.number), "events": events, "follow_ups": follow_ups,
            "storm_alerts": storm_alerts, "targets": _standing(incident, now, policy, tz, hours_of or {})[0],
            "postmortem": web_text.slack_to_html(incident.postmortem, people),
            "responders": [web_text.person(r, people) for r in detail.responders],
            "status": incident.status.label, "commander": web_text.person(incident.commander_id, people),
            "roles": [(title, web_text.person(person, people)) for title, person in (
                ("communications lead", incident.comms_id), ("scribe", incident.scribe_id)) if person],
            "reporter": web_text.person(incident.reporter_id, people, "an alert or a tracker"),
            "declared": when(incident.created_at, tz)}


def rotation_people(plan: RotationPlan, group: dict | None, loads: list[Load]) -> set[str]:
    return {*plan.roster, *(o.user_id for o in plan.overrides), *(load.user for load in loads),
            *(u for s in plan.shifts for u in (s.primary, s.secondary, s.tertiary) if u),
            *(u for _, _, s in plan.segments[:SEGMENTS_SHOWN] for u in (s.primary, s.secondary, s.tertiary) if u),
            *(group["members"] if group else ())}


SEGMENTS_SHOWN = 24


def rotation_view(plan: RotationPlan, group: dict | None, loads: list[Load], people: People, now: datetime,
                  tz: tzinfo) -> dict:
    """The context of rotation.html: the next shifts (the first from now), overrides, the @oncall group, and the
    fairness figures."""
    def named(user_id: str | None) -> Markup:
        return web_text.person(user_id, people)

    spans = [(start, end, held) for start, end, held in plan.segments[:SEGMENTS_SHOWN]] or \
        [(s.shift_start, s.shift_end, s) for s in plan.shifts]  # layers: each window a row, named after its layer
    shifts = [{"when": ("now – " if i == 0 else "") + when(start if i else now, tz) + f" → {when(end, tz)}"
               + (f" · {held.layer} layer" if held.layer else ""), "primary": named(held.primary),
               "secondary": named(held.secondary), "tertiary": named(held.tertiary)}
              for i, (start, end, held) in enumerate(spans)]
    overrides = [Markup("{} is {} from {} to {}").format(named(o.user_id), o.role, when(o.starts_at, tz),
                                                         when(o.ends_at, tz)) for o in plan.overrides]
    if group is not None:
        group = {**group, "members": Markup(", ").join(named(u) for u in group["members"]) or "nobody yet"}
    rows = [{"who": named(load.user), "shifts": fairness_views.shifts(load),
             "hours": round(sum(load.hours.values())), "pages": load.pages, "night": load.night_pages,
             "ack": fairness_views.duration(load.median_acknowledge), "given": load.covers_given,
             "taken": load.covers_taken} for load in loads]
    return {"name": plan.rotation.name, "shifts": shifts, "overrides": overrides, "group": group, "loads": rows,
            "roster": Markup(", ").join(named(u) for u in plan.roster) or "nobody"}


def plan_people(plan: RotationPlan) -> set[str]:
    """Everyone a rotation's plan may name: its roster, its layers' rosters, its overrides."""
    return {*plan.roster, *(u for layer in plan.layers for u in layer.roster), *(o.user_id for o in plan.overrides)}


def shift_events(rotation: Rotation, plan: RotationPlan, people: People, only: str | None = None) -> list[FeedEvent]:
    """A calendar feed's events: each shift's holders (or only `only`'s shifts) and the overrides."""
    found = []
    if plan.segments:  # layers or time off: each stretch its own event (a layer's named after it)
        for start, end, held in plan.segments:
            for role in ROLES:
                user = held.holder(role)
                if user and (only is None or user == only):
                    found.append((f"{rotation.name}-{held.shift_index}-{int(start.timestamp())}-{role.value}"
                                  "@firefighter", f"{rotation.name} {role.value}"
                                  + (f" ({held.layer})" if held.layer else "")
                                  + f": {web_text.name_of(user, people)}", start, end))
    for shift in [] if plan.segments else plan.shifts:
        for role in ROLES:
            user = shift.holder(role)
            if user and (only is None or user == only):
                found.append((f"{rotation.name}-{shift.shift_index}-{role.value}@firefighter",
                              f"{rotation.name} {role.value}: {web_text.name_of(user, people)}",
                              shift.shift_start, shift.shift_end))
    for override in plan.overrides:
        if only is None or override.user_id == only:
            found.append((f"{rotation.name}-override-{override.id}@firefighter",
                          f"{rotation.name} {override.role} (override): "
                          f"{web_text.name_of(override.user_id, people)}", override.starts_at, override.ends_at))
    return found
