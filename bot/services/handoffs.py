"""The handoff: the digest of a shift (posted on the boundary by the reminders, or on request), and handing the
outgoing primary's incidents over to the incoming one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import Rotation
from bot.domain.errors import UserError
from bot.domain.incident import Status, incident_ref
from bot.domain.reminders import Kind
from bot.domain.stats import spread
from bot.services.once import commit_once, record_once
from bot.services.outbox import Outbox
from bot.services.rotations import Rotations
from bot.services.working import Working
from bot.views import handoff as handoff_views

MISSED_KINDS = (Kind.P0_NAG.value, Kind.P1_MISSED.value, Kind.TRIAGE.value)


class Handoffs:
    """`working`: handing over is a change of commander, made the way every change is."""

    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock, outbox: Outbox,
                 rotations: Rotations, working: Working,
                 overdue_of: Callable[[Session, int], list] = lambda _session, _rotation: []) -> None:
        """`overdue_of(session, rotation id)`: its incidents' overdue follow-ups, listed in the digest."""
        self.settings, self.db, self.clock, self.outbox = settings, db, clock, outbox
        self.rotations, self.working, self.overdue_of = rotations, working, overdue_of

    def digest(self, rotation: Rotation, session: Session | None = None) -> handoff_views.Digest:
        if session is None:
            with self.db.session() as own:
                return self.digest(rotation, own)
        now = self.clock.now()
        shift = self.rotations.on_call(session, rotation, now)
        previous = self.rotations.on_call(session, rotation, shift.shift_start - timedelta(seconds=1))
        open_incidents = repo.incidents.open_incidents_of_rotation(session=session, rotation_id=rotation.id)
        latest = [(i, repo.timeline.latest_update(session=session, incident_id=i.id)) for i in open_incidents]
        last_shift = repo.incidents.incidents_of_rotation_between(session=session, rotation_id=rotation.id,
                                                                  since=previous.shift_start, until=shift.shift_start)
        missed = repo.reminders.reminders_sent_between(session=session, rotation_id=rotation.id, kinds=MISSED_KINDS,
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
        return handoff_views.Digest(rotation, shift, outgoing, latest, numbers, now,
                                    self.overdue_of(session, rotation.id),
                                    self.rotations.away_during(session, rotation, now, shift.shift_end),
                                    self.rotations.gaps_of(session, rotation, now))

    def post_digest_later(self, rotation: Rotation, request_key: str | None = None) -> None:
        """`/incident handoff`: the digest as it stands now, owed to the rotation's channel through the outbox and
        stored with the request, so the same command delivered twice posts it once."""
        text, blocks = handoff_views.digest(self.digest(rotation))
        with self.db.session() as session:
            now = self.clock.now()
            record_once(session, request_key, "handoff", now)
            self.outbox.queue_post(session, rotation.channel_id, text, now, blocks)
            commit_once(session, request_key)
        self.outbox.flush_later()

    def hand_over(self, rotation_id: int, outgoing: str, incoming: str,
                  actor: str) -> tuple[list[int], list[str]]:
        """Command of the outgoing primary's open incidents on this rotation moves to the incoming primary.

        The button names the two people, but they are checked against the rotation itself (last shift's and this
        shift's primary), so a stale or forged button moves nothing. Returns (moved, why others were not).
        """
        now = self.clock.now()
        with self.db.session() as session:
            rotation = repo.rotations.rotation_by_id(session=session, rotation_id=rotation_id)
            if rotation is None:
                raise UserError("This button is out of date; run `/incident handoff` for a fresh digest.")
            shift = self.rotations.on_call(session, rotation, now)
            previous = self.rotations.on_call(session, rotation, shift.shift_start - timedelta(seconds=1))
            if (outgoing, incoming) != (previous.primary, shift.primary):
                raise UserError("This button is out of date (the shift has changed since the digest); run "
                                "`/incident handoff` for a fresh digest.")
            if actor not in (outgoing, incoming) and actor not in self.settings.admins:
                raise UserError(f"Only <@{outgoing}> (or <@{incoming}>, or an admin) can hand these incidents over.")
            mine = [i.number
                    for i in repo.incidents.open_incidents_of_rotation(session=session, rotation_id=rotation_id)
                    if i.commander_id == outgoing]
        if not mine:
            raise UserError(f"<@{outgoing}> commands no open incident on this rotation any more.")
        moved, refused = [], []
        for number in mine:
            try:
                self.working.set_commander(number, actor, incoming)
            except UserError as exc:
                refused.append(f"{incident_ref(number)}: {exc}")
                continue
            moved.append(number)
        return moved, refused
