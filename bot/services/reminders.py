"""Scheduled duties: reminders and the handoff, derived from stored state on every tick (SPEC §2, §4).

A tick computes what is due (bot/domain/reminders.py), stores each due item as a Notice under its unique key —
a replica or a later tick computing the same item finds the key taken — and then delivers queued notices,
claiming each one first. At delivery the item must still be due (an update may have arrived, the incident may
be resolved); if not, it is dropped, never sent late or to a resolved incident.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.db import repo
from bot.db.models import Incident, Notice, Rotation
from bot.domain import reminders as rules
from bot.domain.errors import UserError
from bot.domain.incident import Priority, Status, incident_ref
from bot.domain.reminders import Due, Kind
from bot.domain.stats import spread
from bot.notify import TRANSPORT_ERRORS, slack_error, transient
from bot.services.base import Changed, Effects, Outcome
from bot.services.working import WorkingService
from bot.slack_text import safe
from bot.views import handoff as handoff_views
from bot.views import reminders as texts

log = logging.getLogger(__name__)

MISSED_KINDS = (Kind.P0_NAG.value, Kind.P1_MISSED.value, Kind.TRIAGE.value)


class ReminderService(WorkingService):
    @property
    def policy(self) -> rules.Policy:
        s = self.settings
        return rules.Policy(s.p0_update_interval, s.p0_renag_interval, s.p1_resolution_target, s.triage_target,
                            self.working_time, s.team_timezone)

    # -- what is due ----------------------------------------------------------------------------------------

    def _facts(self, incident: Incident, commander_tz) -> rules.IncidentFacts:
        return rules.IncidentFacts(incident.id, Priority(incident.priority), Status(incident.status),
                                   incident.created_at, incident.last_update_at, incident.p0_since,
                                   incident.commander_id, commander_tz)

    def _due_now(self, session: Session, now: datetime) -> list[tuple[Due, int | None, int | None]]:
        """(due item, incident id, rotation id) for everything due at `now`. Reads only the open P0/P1s' few
        columns (a tick's cost follows open work, not history)."""
        found: list[tuple[Due, int | None, int | None]] = []
        rows = repo.reminder_facts(session=session)
        zones = self.timezones(session, sorted({r.commander_id for r in rows if r.commander_id}))
        policy = self.policy
        for row in rows:
            facts = rules.IncidentFacts(row.id, Priority(row.priority), Status(row.status), row.created_at,
                                        row.last_update_at, row.p0_since, row.commander_id,
                                        zones.get(row.commander_id) if row.commander_id else None)
            found += [(due, row.id, row.rotation_id) for due in rules.incident_reminders(facts, now, policy)]
        for rotation in repo.all_rotations(session=session):
            found += [(due, None, rotation.id)
                      for due in rules.handoff_due(rotation.id, rotation.created_at, self.handoff, now)]
        return found

    def queue_due(self) -> set[str]:
        """Store every newly due item (once, under its key). Returns the keys due now."""
        now = self.clock.now()
        with self.db.session() as session:
            due = self._due_now(session, now)
            taken = repo.existing_notice_keys(session=session, keys=[d.key for d, _, _ in due])
            for item, incident_id, rotation_id in due:
                if item.key in taken:
                    continue
                try:
                    with session.begin_nested():  # a replica may store the same key at the same moment
                        session.add(Notice(key=item.key, kind=item.kind.value, incident_id=incident_id,
                                           rotation_id=rotation_id, step=item.step, created_at=now))
                except IntegrityError:
                    continue
            session.commit()
        return {d.key for d, _, _ in due}

    async def remind_due(self) -> int:
        return await self.deliver_notices(self.queue_due())

    # -- delivering -----------------------------------------------------------------------------------------

    async def deliver_notices(self, due_keys: set[str] | None = None) -> int:
        now = self.clock.now()
        with self.db.session() as session:
            ids = repo.notices_to_deliver(session=session, claimed_before=now - self.lease)
            if ids and due_keys is None:
                due_keys = {d.key for d, _, _ in self._due_now(session, now)}
        sent = 0
        for notice_id in ids:
            sent += await self._deliver_notice(notice_id, due_keys)
        return sent

    async def _deliver_notice(self, notice_id: int, due_keys: set[str]) -> int:
        now = self.clock.now()
        with self.db.session() as session:
            if not repo.claim(session=session, model=Notice, row_id=notice_id, now=now,
                              claimed_before=now - self.lease):
                return 0
            session.commit()
            notice = repo.notice_by_id(session=session, notice_id=notice_id)
        if notice.key not in due_keys:
            self._update(Notice, notice_id, state="dropped")
            return 0
        try:
            await self._send(notice, now)
        except (SlackApiError, *TRANSPORT_ERRORS) as exc:
            if transient(exc):  # the claim goes stale and a later tick tries again
                log.info("notice %s not delivered yet (%s)", notice.key, exc)
                return 0
            log.warning("notice %s refused by Slack (%s)", notice.key, slack_error(exc))
        self._update(Notice, notice_id, state="sent", sent_at=now)
        return 1

    async def _send(self, notice: Notice, now: datetime) -> None:
        kind = Kind(notice.kind)
        if kind is Kind.DIGEST:
            rotation = self._load_rotation(notice.rotation_id)
            await self.post_digest(rotation)
            return
        if kind is Kind.HEADS_UP:
            await self._send_heads_up(self._load_rotation(notice.rotation_id), now)
            return
        incident = self._load(notice.incident_id)
        with self.db.session() as session:
            oncall = self.on_call_for(session, incident, now)
        home = (incident.channel_id, incident.thread_ts) if incident.channel_id else None
        silent_for = now - max(t for t in (incident.created_at, incident.p0_since, incident.last_update_at) if t)
        dms: list[tuple[str, str, list[dict] | None]] = []
        channel_text: str | None = None
        if kind is Kind.P0_NAG:
            channel_text = texts.p0_nag(incident, silent_for, notice.step)
            target = incident.commander_id or (oncall.primary if oncall else None)
            if target:
                dms.append((target, *texts.with_update_button(channel_text, incident)))
            if rules.escalates_to_firefighters(notice.step) and oncall:
                alarm = texts.p0_nag_firefighters(incident, silent_for, notice.step)
                dms += [(u, alarm, None) for u in (oncall.primary, oncall.secondary) if u and u != target]
        elif kind in (Kind.P1_WARNING, Kind.P1_MISSED):
            due = rules.p1_target_at(self._facts(incident, None), self.policy)
            channel_text = (texts.p1_warning if kind is Kind.P1_WARNING else texts.p1_missed)(incident, due)
            if incident.commander_id:
                dms.append((incident.commander_id, *texts.with_update_button(channel_text, incident)))
        elif kind is Kind.TRIAGE:
            person = (oncall.primary if notice.step == 1 else oncall.secondary) if oncall else None
            waited = "30 min" if incident.priority == Priority.P0.value else \
                f"{int(self.settings.triage_target.total_seconds() // 3600) * notice.step} business hours"
            channel_text = texts.triage(incident, person, notice.step, waited)
            if person:
                dms.append((person, channel_text, None))
        elif kind is Kind.HEADING_HOME:
            dms.append((incident.commander_id, *texts.with_update_button(texts.heading_home(incident), incident)))
        if channel_text and home:
            text, blocks = texts.with_update_button(channel_text, incident)
            await self.slack.post(home[0], text, blocks, thread_ts=home[1])
        for user, text, blocks in dms:
            await self.slack.post(user, text, blocks)

    def _load_rotation(self, rotation_id: int | None) -> Rotation:
        with self.db.session() as session:
            rotation = repo.rotation_by_id(session=session, rotation_id=rotation_id) if rotation_id else None
        if rotation is None:
            raise LookupError(f"rotation {rotation_id} vanished")
        return rotation

    async def _send_heads_up(self, rotation: Rotation, now: datetime) -> None:
        with self.db.session() as session:
            current = self.on_call(session, rotation, now)
            following = self.on_call(session, rotation, current.shift_end)
        outgoing, incoming = current.primary, following.primary
        for user in dict.fromkeys(u for u in (outgoing, incoming) if u):
            await self.slack.post(user, texts.heads_up(rotation.name, following.shift_start, outgoing, incoming,
                                                       user))

    # -- the handoff digest ---------------------------------------------------------------------------------

    def digest(self, rotation: Rotation) -> handoff_views.Digest:
        now = self.clock.now()
        with self.db.session() as session:
            shift = self.on_call(session, rotation, now)
            previous = self.on_call(session, rotation, shift.shift_start - timedelta(seconds=1))
            open_incidents = repo.open_incidents_of_rotation(session=session, rotation_id=rotation.id)
            latest = [(i, repo.latest_update(session=session, incident_id=i.id)) for i in open_incidents]
            last_shift = repo.incidents_of_rotation_between(session=session, rotation_id=rotation.id,
                                                            since=previous.shift_start, until=shift.shift_start)
            missed = repo.reminders_sent_between(session=session, rotation_id=rotation.id, kinds=MISSED_KINDS,
                                                 since=previous.shift_start, until=shift.shift_start)
        declared = [i for i in last_shift if previous.shift_start <= i.created_at < shift.shift_start]
        resolved = [i for i in last_shift if i.resolved_at and previous.shift_start <= i.resolved_at <
                    shift.shift_start and i.status == Status.RESOLVED.value]
        numbers = handoff_views.ShiftNumbers(
            declared=len(declared), resolved=len(resolved),
            time_to_acknowledge=spread(i.acknowledged_at - i.created_at for i in declared if i.acknowledged_at),
            time_to_resolve=spread(i.resolved_at - i.created_at for i in resolved),
            missed_reminders=missed)
        outgoing = previous.primary if previous.shift_index >= 0 else None
        return handoff_views.Digest(rotation, shift, outgoing, latest, numbers, now)

    async def post_digest(self, rotation: Rotation) -> None:
        text, blocks = handoff_views.digest(self.digest(rotation))
        await self.slack.post(rotation.channel_id, text, blocks)

    def post_digest_later(self, rotation: Rotation, request_key: str | None = None) -> None:
        """`/incident handoff`: the digest as it stands now, owed to the rotation's channel through the outbox and
        stored with the request, so the same command delivered twice posts it once."""
        text, blocks = handoff_views.digest(self.digest(rotation))
        with self.db.session() as session:
            self._once(session, request_key, "handoff")
            self.delivery.queue(session, lane=f"channel:{rotation.channel_id}", kind="post", now=self.clock.now(),
                                channel=rotation.channel_id, text=text, blocks=blocks)
            self._commit_once(session, request_key)
        self.flush_later()

    def add_handoff_note(self, number: int, user_id: str, text: str, request_key: str | None = None) -> Changed:
        body = text.strip()
        if not body:
            raise UserError("A handoff note needs some text.")

        def apply(session, incident: Incident, now):
            return Outcome("handoff note", body, Effects(
                f":memo: *Handoff note on {incident_ref(number)}* from <@{user_id}>:\n"
                f"{safe(body)}", refresh=False))
        return self._change(number, user_id, apply, request_key)

    def hand_over(self, rotation_id: int, outgoing: str, incoming: str,
                  actor: str) -> tuple[list[int], list[str]]:
        """Command of the outgoing primary's open incidents on this rotation moves to the incoming primary.

        The button names the two people, but they are checked against the rotation itself (last shift's and this
        shift's primary), so a stale or forged button moves nothing. Returns (moved, why others were not).
        """
        now = self.clock.now()
        with self.db.session() as session:
            rotation = repo.rotation_by_id(session=session, rotation_id=rotation_id)
            if rotation is None:
                raise UserError("This button is out of date; run `/incident handoff` for a fresh digest.")
            shift = self.on_call(session, rotation, now)
            previous = self.on_call(session, rotation, shift.shift_start - timedelta(seconds=1))
            if (outgoing, incoming) != (previous.primary, shift.primary):
                raise UserError("This button is out of date (the shift has changed since the digest); run "
                                "`/incident handoff` for a fresh digest.")
            if actor not in (outgoing, incoming) and actor not in self.settings.admins:
                raise UserError(f"Only <@{outgoing}> (or <@{incoming}>, or an admin) can hand these incidents over.")
            mine = [i.number for i in repo.open_incidents_of_rotation(session=session, rotation_id=rotation_id)
                    if i.commander_id == outgoing]
        if not mine:
            raise UserError(f"<@{outgoing}> commands no open incident on this rotation any more.")
        moved, refused = [], []
        for number in mine:
            try:
                self.set_commander(number, actor, incoming)
            except UserError as exc:
                refused.append(f"{incident_ref(number)}: {exc}")
                continue
            moved.append(number)
        return moved, refused
