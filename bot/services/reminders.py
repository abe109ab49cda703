"""Scheduled duties: reminders and the handoff, derived from stored state on every tick (SPEC §2, §4).

A tick computes what is due (bot/domain/reminders.py) and stores each due item as a Notice under its unique key —
a replica or a later tick computing the same item finds the key taken — together with one delivery per
recipient (the incident's channel, each DM, the rotation's channel). The delivery engine sends them; at delivery
the item must still be due (an update may have arrived, the incident may be resolved); if not, it is dropped,
never sent late or to a resolved incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import NEVER, Incident, Rotation
from bot.delivery.kinds import HOME, lane_to
from bot.delivery.kinds import Kind as DeliveryKind
from bot.domain import reminders as rules
from bot.domain.incident import Priority
from bot.domain.reminders import Due, Kind
from bot.domain.rotation import OnCall
from bot.services.handoffs import Handoffs
from bot.services.outbox import Outbox
from bot.services.people import People
from bot.services.rotation_inputs import shift_plan
from bot.services.rotations import Rotations
from bot.views import handoff as handoff_views
from bot.views import reminders as texts

Message = tuple[str, str, list[dict] | None]  # (HOME, a channel or a user id; text; blocks)


@dataclass(frozen=True)
class _Known:
    """What a tick has read already: the incidents whose reminders it queues (one query for them all) and the
    facts it decided them from."""
    incidents: dict[int, Incident]
    facts: dict[int, rules.IncidentFacts]


class Reminders:
    """`rotations`: who is on call and when the handoff is; `people`: commanders' business hours; `handoffs`:
    the digest posted on the boundary."""

    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock, outbox: Outbox,
                 rotations: Rotations, people: People, handoffs: Handoffs) -> None:
        self.settings, self.db, self.clock, self.outbox = settings, db, clock, outbox
        self.rotations, self.people, self.handoffs = rotations, people, handoffs
        s = settings
        self.policy = rules.Policy(s.p0_update_interval, s.p0_renag_interval, s.p1_resolution_target,
                                   s.triage_target, rotations.working_time, s.team_timezone)
        self._rechecked = False
        self._shifts: dict[tuple, rules.ShiftNow] = {}  # (rotation, its changes) -> the shift worked out last

    # -- what is due ----------------------------------------------------------------------------------------

    def _due_now(self, session: Session, now: datetime, incident_id: int | None = None,
                 rotation_id: int | None = None) -> list[tuple[Due, int | None, int | None]]:
        """(due item, incident id, rotation id) for everything due at `now` for one incident, or one rotation's
        handoff."""
        found: list[tuple[Due, int | None, int | None]] = []
        if incident_id:
            rows = repo.reminders.reminder_facts(session=session, incident_id=incident_id)
            for row, facts in zip(rows, self._facts_of(session, rows), strict=True):
                found += [(due, row.id, row.rotation_id) for due in rules.incident_reminders(facts, now, self.policy)]
        elif rotation_id:
            rotation = repo.rotations.rotation_by_id(session=session, rotation_id=rotation_id)
            found += self._handoffs_due(session, [(rotation.id, rotation.created_at)] if rotation else [], now)
        return found

    def _facts_of(self, session: Session, rows: list) -> list[rules.IncidentFacts]:
        commanders = sorted({r.commander_id for r in rows if r.commander_id})
        zones = self.people.timezones(session, commanders)
        hours = self.people.working_times(session, commanders, self.rotations.working_time)
        return [rules.facts_of(row, zones.get(row.commander_id), hours.get(row.commander_id)) if row.commander_id
                else rules.facts_of(row) for row in rows]

    def _handoffs_due(self, session: Session, rotations: list[tuple[int, datetime]],
                      now: datetime) -> list[tuple[Due, int | None, int | None]]:
        """Each rotation's shift is worked out once per shift and kept (keyed by its stored changes, so a `rotation
        set` on any replica is seen at the next tick): a tick's cost for 200 rotations is a lookup each."""
        changes = repo.schedules.shift_changes_of(session=session, rotation_ids=[r for r, _ in rotations]
                                                  if len(rotations) == 1 else None)
        found: list[tuple[Due, int | None, int | None]] = []
        for rotation_id, created_at in rotations:
            rows = changes.get(rotation_id, [])
            key = (rotation_id, created_at, tuple((row.id, row.set_at) for row in rows))
            shift = self._shifts.get(key)
            if shift is None or not shift.start <= now < shift.end:
                if len(self._shifts) > 5000:
                    self._shifts.clear()
                shift = self._shifts[key] = rules.shift_now(
                    created_at, shift_plan(self.rotations.handoff, created_at, rows), now)
            found += [(due, None, rotation_id) for due in rules.handoff_due(rotation_id, created_at, shift, now)]
        return found

    def _everything_due(self, session: Session, now: datetime) -> tuple[list[tuple[Due, int | None, int | None]],
                                                                         list, dict[int, rules.IncidentFacts]]:
        """Reads only the incidents whose stored next due moment has come (or that changed since): a tick's cost
        follows due work, not open work. Also returns, for each incident read, its next moment (stored with the
        notices) and its facts (what its messages say is worked out from them)."""
        if not self._rechecked:  # the policy (targets, hours) may differ from the last process's
            repo.reminders.recheck_reminders(session=session)
            self._rechecked = True
        rows = repo.reminders.facts_due(session=session, now=now)
        found: list[tuple[Due, int | None, int | None]] = []
        moments, facts_by_id = [], {}
        for row, facts in zip(rows, self._facts_of(session, rows), strict=True):
            found += [(due, row.id, row.rotation_id) for due in rules.incident_reminders(facts, now, self.policy)]
            moments.append((row, rules.next_due(facts, now, self.policy) or NEVER))
            facts_by_id[row.id] = facts
        handoffs = self._handoffs_due(session, repo.rotations.rotation_starts(session=session), now)
        return found + handoffs, moments, facts_by_id

    def queue_due(self) -> int:
        """Store every newly due item once (under its unique key), and with it one delivery per recipient: the
        channel message and each DM go out, fail and retry on their own. Returns how many items were new."""
        now = self.clock.now()
        fresh = 0
        on_call: dict = {}  # rotation id → who is on call now: reminders due together mostly share a rotation
        with self.db.session() as session:
            due, moments, facts = self._everything_due(session, now)
            taken = repo.reminders.existing_notices(session=session, keys=[d.key for d, _, _ in due])
            owed = {incident_id for item, incident_id, _ in due if incident_id and taken.get(item.key, "queued")
                    == "queued"}
            known = _Known(repo.incidents.incidents_by_ids(session=session, ids=owed), facts)
            new = {item.key: {"key": item.key, "kind": item.kind.value, "incident_id": incident_id,
                              "rotation_id": rotation_id, "step": item.step, "created_at": now, "state": "sent",
                              "sent_at": now} for item, incident_id, rotation_id in due if item.key not in taken}
            stored = repo.reminders.store_new_notices(session=session, notices=list(new.values()))
            for item, incident_id, rotation_id in due:
                # Stored but never sent by a version that sent notices whole: its messages are owed now.
                settled = taken.get(item.key) == "queued" and repo.reminders.settle_notice(session=session,
                                                                                           key=item.key, now=now)
                if settled or item.key in stored:
                    stored.discard(item.key)  # one item's messages once, even were it found twice
                    self._queue_messages(session, item, incident_id, rotation_id, now, on_call, known)
                    fresh += 1
            repo.reminders.set_next_due(session=session, moments=moments)
            session.commit()
        return fresh

    async def remind_due(self) -> int:
        fresh = await self.db.run_background(self.queue_due)
        if fresh:
            self.outbox.flush_later()
        return fresh

    def still_due(self, key: str, incident_id: int | None, rotation_id: int | None) -> bool:
        """Checked when a reminder's message is about to go out: an update may have arrived, the incident may be
        resolved — then it is dropped, never sent late."""
        with self.db.session() as session:
            due = self._due_now(session, self.clock.now(), incident_id=incident_id,
                                rotation_id=None if incident_id else rotation_id)
        return any(item.key == key for item, _, _ in due)

    # -- what each reminder says, and to whom -------------------------------------------------------------

    def _queue_messages(self, session: Session, item: Due, incident_id: int | None, rotation_id: int | None,
                        now: datetime, on_call: dict, known: _Known) -> None:
        if item.kind in (Kind.DIGEST, Kind.HEADS_UP):
            rotation = repo.rotations.rotation_by_id(session=session, rotation_id=rotation_id)
            messages = (self._digest_message(session, rotation) if item.kind is Kind.DIGEST
                        else self._heads_up_messages(session, rotation, now))
        else:
            incident = known.incidents[incident_id]
            if incident.rotation_id not in on_call:
                on_call[incident.rotation_id] = self.rotations.on_call_for(session, incident, now)
            facts = known.facts[incident_id]
            messages = self._incident_messages(item, incident, now, on_call[incident.rotation_id], facts)
            if incident.private:  # a private incident's DMs go to those who may see it (its channel's members)
                members = set(repo.incidents.member_ids(session=session, incident_id=incident.id))
                messages = [m for m in messages if m[0] == HOME or m[0] in members]
        for to, text, blocks in messages:
            self.outbox.queue(session, lane=lane_to(to, incident_id), kind=DeliveryKind.REMINDER, now=now,
                                incident_id=incident_id, rotation_id=rotation_id, notice=item.key, to=to, text=text,
                                blocks=blocks)

    def _incident_messages(self, item: Due, incident: Incident, now: datetime, oncall: OnCall | None,
                           facts: rules.IncidentFacts) -> list[Message]:
        kind, step = item.kind, item.step
        silent_for = now - max(t for t in (incident.created_at, incident.p0_since, incident.last_update_at) if t)
        dms: list[Message] = []
        channel_text: str | None = None
        if kind is Kind.P0_NAG:
            channel_text = texts.p0_nag(incident, silent_for, step)
            target = incident.comms_id or incident.commander_id or (oncall.primary if oncall else None)
            if target:
                dms.append((target, *texts.with_update_button(channel_text, incident)))
            if incident.comms_id and incident.commander_id not in (None, incident.comms_id):
                dms.append((incident.commander_id, texts.p0_nag_told(incident, silent_for), None))
            if rules.escalates_to_firefighters(step) and oncall:
                alarm = texts.p0_nag_firefighters(incident, silent_for, step)
                dms += [(u, alarm, None) for u in dict.fromkeys((oncall.primary, oncall.secondary))
                        if u and u != target]
        elif kind in (Kind.P1_WARNING, Kind.P1_MISSED):
            due = rules.p1_target_at(facts, self.policy)
            channel_text = (texts.p1_warning if kind is Kind.P1_WARNING else texts.p1_missed)(incident, due)
            if incident.commander_id:
                dms.append((incident.commander_id, *texts.with_update_button(channel_text, incident)))
        elif kind is Kind.TRIAGE:
            person = (oncall.primary if step == 1 else oncall.secondary) if oncall else None
            if incident.private:  # whoever is on call may not be in its channel: its commander triages it
                person = incident.commander_id or incident.reporter_id
            waited = "30 min" if incident.priority == Priority.P0.value else \
                f"{int(self.settings.triage_target.total_seconds() // 3600) * step} business hours"
            channel_text = texts.triage(incident, person, step, waited)
            if person:
                dms.append((person, channel_text, None))
        elif kind is Kind.HEADING_HOME:
            dms.append((incident.commander_id, *texts.with_update_button(texts.heading_home(incident), incident)))
        home = [(HOME, *texts.with_update_button(channel_text, incident))] if channel_text else []
        return home + dms

    def _heads_up_messages(self, session: Session, rotation: Rotation, now: datetime) -> list[Message]:
        current = self.rotations.on_call(session, rotation, now)
        following = self.rotations.on_call(session, rotation, current.shift_end)
        outgoing, incoming = current.primary, following.primary
        away = self.rotations.away_during(session, rotation, following.shift_start, following.shift_end)
        return [(user, texts.heads_up(rotation.name, following.shift_start, outgoing, incoming, user, away, now),
                 None) for user in dict.fromkeys(u for u in (outgoing, incoming) if u)]

    def _digest_message(self, session: Session, rotation: Rotation) -> list[Message]:
        return [(rotation.channel_id, *handoff_views.digest(self.handoffs.digest(rotation, session)))]
