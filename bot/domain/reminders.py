"""What is due at `now` (SPEC §2 "Reminders", "Tuesday handoff"). Pure: stored facts and the clock in, keys out.

Each due reminder has a key that names exactly one sending (an incident, what it is about, and the state it was
computed from). The service stores the key under a unique constraint before sending, so a reminder goes out
once however many ticks, restarts or replicas compute it; and when the state changes (an update arrives, the
priority drops, it is resolved) the key is no longer due and nothing is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum

from bot.domain.business_hours import WorkingTime
from bot.domain.incident import OPEN_STATUSES, Priority, Status
from bot.domain.rotation import Handoff
from bot.domain.shifts import ShiftPlan

P0_TRIAGE_TARGET = timedelta(minutes=30)
HOME_LEAD = timedelta(minutes=30)  # how long before the end of the working day the "heading home?" nudge comes
HOME_GRACE = timedelta(hours=2)  # a late tick (or a restart) may still send it this long after the day ended
P1_WARNING_SHARE = 0.75
NAGS_BEFORE_ESCALATING = 2
HEADS_UP_AT = time(16, 0)  # team time, the day before a handoff


class Kind(StrEnum):
    P0_NAG = "p0_nag"
    P1_WARNING = "p1_warning"
    P1_MISSED = "p1_missed"
    TRIAGE = "triage"
    HEADING_HOME = "heading_home"
    HEADS_UP = "handoff_heads_up"
    DIGEST = "handoff_digest"


@dataclass(frozen=True)
class Policy:
    p0_update_interval: timedelta
    p0_renag_interval: timedelta
    p1_resolution_target: timedelta
    triage_target: timedelta
    hours: WorkingTime
    team_tz: tzinfo


@dataclass(frozen=True)
class IncidentFacts:
    id: int
    priority: Priority
    status: Status
    created_at: datetime
    last_update_at: datetime | None
    p0_since: datetime | None
    commander_id: str | None
    commander_tz: tzinfo | None = None
    commander_hours: WorkingTime | None = None  # with their own holidays (`me holidays`); None: the team's


def _hours(facts: IncidentFacts, policy: Policy) -> WorkingTime:
    """The team's business hours, with the commander's own holidays once there is a commander (`me holidays`): a
    holiday is not a business day for that person, in the targets as in heading home."""
    return facts.commander_hours or policy.hours


def facts_of(row, commander_tz: tzinfo | None = None, commander_hours: WorkingTime | None = None) -> IncidentFacts:
    """The facts of a stored incident (or a row of its columns) the rules read."""
    return IncidentFacts(row.id, Priority(row.priority), Status(row.status), row.created_at, row.last_update_at,
                         row.p0_since, row.commander_id, commander_tz, commander_hours)


@dataclass(frozen=True)
class Due:
    kind: Kind
    key: str
    step: int = 1  # which nag (1, 2, 3…), which triage reminder (1 primary, 2 secondary)


def p0_nags_due(facts: IncidentFacts, now: datetime, policy: Policy) -> Due | None:
    """The newest nag due: first after P0_UPDATE_INTERVAL without an update, then every P0_RENAG_INTERVAL.

    Only the newest is returned — after downtime the commander gets one reminder, not a burst of them.
    """
    if facts.priority is not Priority.P0 or facts.status not in OPEN_STATUSES:
        return None
    base = p0_update_base(facts)
    first = base + policy.p0_update_interval
    if now < first:
        return None
    step = 1 + int((now - first) // policy.p0_renag_interval)
    return Due(Kind.P0_NAG, f"p0-nag:{facts.id}:{int(base.timestamp())}:{step}", step)


def escalates_to_firefighters(step: int) -> bool:
    """After two unanswered reminders the primary and secondary hear about it too."""
    return step > NAGS_BEFORE_ESCALATING


def p1_due(facts: IncidentFacts, now: datetime, policy: Policy) -> Due | None:
    if facts.priority is not Priority.P1 or facts.status not in OPEN_STATUSES:
        return None
    if now - facts.created_at < policy.p1_resolution_target * P1_WARNING_SHARE:
        return None  # business time never runs faster than the clock: nothing to count yet
    spent = _hours(facts, policy).elapsed(facts.created_at, now, policy.team_tz)
    if spent >= policy.p1_resolution_target:
        return Due(Kind.P1_MISSED, f"p1-missed:{facts.id}")
    if spent >= policy.p1_resolution_target * P1_WARNING_SHARE:
        return Due(Kind.P1_WARNING, f"p1-warning:{facts.id}")
    return None


def p1_target_at(facts: IncidentFacts, policy: Policy) -> datetime:
    return _hours(facts, policy).add(facts.created_at, policy.p1_resolution_target, policy.team_tz)


def triage_target_at(facts: IncidentFacts, policy: Policy) -> datetime:
    """When a new incident should be triaged by: TRIAGE_TARGET of business time, 30 minutes of any time for a P0."""
    if facts.priority is Priority.P0:
        return facts.created_at + P0_TRIAGE_TARGET
    return _hours(facts, policy).add(facts.created_at, policy.triage_target, policy.team_tz)


def p0_update_base(facts: IncidentFacts) -> datetime:
    """What a P0's hourly update counts from: its last update, else when it became a P0, else its declaration."""
    return max(t for t in (facts.created_at, facts.p0_since, facts.last_update_at) if t is not None)


def triage_due(facts: IncidentFacts, now: datetime, policy: Policy) -> Due | None:
    """Still `new` after TRIAGE_TARGET (business time; 30 minutes of any time for a P0): the primary, then — after
    as long again — the secondary."""
    if facts.status is not Status.NEW or facts.priority is Priority.P2:
        return None
    if facts.priority is Priority.P0:
        waited, target = now - facts.created_at, P0_TRIAGE_TARGET
    elif now - facts.created_at < policy.triage_target:
        return None  # business time never runs faster than the clock
    else:
        waited, target = _hours(facts, policy).elapsed(facts.created_at, now, policy.team_tz), policy.triage_target
    if waited >= 2 * target:
        return Due(Kind.TRIAGE, f"triage:{facts.id}:2", 2)
    if waited >= target:
        return Due(Kind.TRIAGE, f"triage:{facts.id}:1", 1)
    return None


def heading_home_due(facts: IncidentFacts, now: datetime, policy: Policy) -> Due | None:
    """Near the end of the commander's working day (their timezone), once per day per open P0/P1 they command."""
    if facts.priority is Priority.P2 or facts.status not in OPEN_STATUSES or not facts.commander_id:
        return None
    tz = facts.commander_tz or policy.team_tz
    local_day = now.astimezone(tz).date()
    for day in (local_day, local_day - timedelta(days=1)):
        window = _hours(facts, policy).window(day, tz)
        if window is None:
            continue
        _, ends = window
        if ends - HOME_LEAD <= now < ends + HOME_GRACE:
            return Due(Kind.HEADING_HOME, f"home:{facts.id}:{facts.commander_id}:{day.isoformat()}")
    return None


def incident_reminders(facts: IncidentFacts, now: datetime, policy: Policy) -> list[Due]:
    found = [p0_nags_due(facts, now, policy), p1_due(facts, now, policy), triage_due(facts, now, policy),
             heading_home_due(facts, now, policy)]
    return [d for d in found if d is not None]


def next_due(facts: IncidentFacts, now: datetime, policy: Policy) -> datetime | None:
    """The first moment after `now` at which `incident_reminders` could name a key it does not name at `now` — the
    tick reads an incident again only then (or when it changes), so its cost follows due work, not open work.
    None: nothing more will come due unless the incident changes."""
    if facts.priority is Priority.P2 or facts.status not in OPEN_STATUSES:
        return None
    moments: list[datetime] = []
    if facts.priority is Priority.P0:
        base = max(t for t in (facts.created_at, facts.p0_since, facts.last_update_at) if t is not None)
        first = base + policy.p0_update_interval
        steps = 0 if now < first else 1 + int((now - first) // policy.p0_renag_interval)
        moments.append(first + steps * policy.p0_renag_interval)
    try:
        if facts.priority is Priority.P1:
            target = policy.p1_resolution_target
            moments += [_hours(facts, policy).add(facts.created_at, target * P1_WARNING_SHARE, policy.team_tz),
                        _hours(facts, policy).add(facts.created_at, target, policy.team_tz)]
        if facts.status is Status.NEW:
            if facts.priority is Priority.P0:
                moments += [facts.created_at + P0_TRIAGE_TARGET, facts.created_at + 2 * P0_TRIAGE_TARGET]
            else:
                moments += [_hours(facts, policy).add(facts.created_at, policy.triage_target, policy.team_tz),
                            _hours(facts, policy).add(facts.created_at, 2 * policy.triage_target, policy.team_tz)]
    except ValueError:  # no working hours in a week: business-time targets never come
        pass
    if facts.commander_id:
        moments.append(_next_home_window(now, facts.commander_tz or policy.team_tz,
                                         _hours(facts, policy)))
    later = [m for m in moments if m is not None and m > now]
    return min(later) if later else None


def _next_home_window(now: datetime, tz: tzinfo, hours: WorkingTime) -> datetime | None:
    """When the next "heading home?" window opens (a new day's key), looking a fortnight ahead."""
    day = now.astimezone(tz).date() - timedelta(days=1)
    for _ in range(16):
        window = hours.window(day, tz)
        if window is not None and window[1] - HOME_LEAD > now:
            return window[1] - HOME_LEAD
        day += timedelta(days=1)
    return None


def heads_up_at(handoff: Handoff | ShiftPlan, shift_start: datetime) -> datetime | None:
    """16:00 in the handoff's timezone on the day before a handoff (Monday 16:00 for the Tuesday handoff); None
    when that is before the shift ahead of it began (shifts of a day handing off before 16:00): no heads-up then,
    the digest says it."""
    before = handoff.shape_at(shift_start - timedelta(seconds=1))
    day = shift_start.astimezone(before.tz).date() - timedelta(days=1)
    at = datetime.combine(day, HEADS_UP_AT, tzinfo=before.tz).astimezone(shift_start.tzinfo)
    return at if at >= handoff.shift_start(shift_start - timedelta(seconds=1)) else None


@dataclass(frozen=True)
class ShiftNow:
    """The shift holding an instant — its number, start, end and the heads-up for the next one: all a tick needs
    to know what a rotation's handoff owes, and the same for every instant of the shift (so it can be kept)."""

    index: int
    start: datetime
    end: datetime
    heads_up: datetime | None


def shift_now(created_at: datetime, handoff: Handoff | ShiftPlan, now: datetime) -> ShiftNow:
    index = handoff.shift_index(now, created_at)
    start = handoff.start_of(index, created_at)
    following = handoff.next_start(start)
    return ShiftNow(index, start, following, heads_up_at(handoff, following))


def handoff_due(rotation_id: int, created_at: datetime, handoff: Handoff | ShiftPlan | ShiftNow,
                now: datetime) -> list[Due]:
    """The digest of the shift that started at the last handoff (once per shift, never for a shift that began
    before the rotation existed), and the heads-up for the next handoff. `handoff` may be the shift already
    worked out (ShiftNow), valid while `now` is inside it."""
    shift = handoff if isinstance(handoff, ShiftNow) else shift_now(created_at, handoff, now)
    due: list[Due] = []
    if shift.start >= created_at:
        due.append(Due(Kind.DIGEST, f"digest:{rotation_id}:{shift.index}", shift.index))
    if shift.heads_up is not None and shift.heads_up <= now < shift.end:
        due.append(Due(Kind.HEADS_UP, f"heads-up:{rotation_id}:{shift.index + 1}", shift.index + 1))
    return due
