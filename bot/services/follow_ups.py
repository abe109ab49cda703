"""Follow-ups that close the loop (SPEC §2): items of their own with an owner and a due day. Adding one, marking it
done or not, reassigning it and moving its due day are changes of its incident (permission, a timeline event, said
in the channel, once per request). Past its due day (on the owner's calendar) a follow-up reminds its owner by DM
inside their business hours, at most once a day, until it is done — decided by the tick from stored state and
claimed with a unique notice key, like every reminder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import object_session
from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import FollowUp, Incident
from bot.delivery.kinds import Kind, user_lane
from bot.domain.errors import UserError
from bot.domain.incident import incident_ref
from bot.domain.tracker import TrackerActor
from bot.domain.when import parse_moment
from bot.services.outbox import Outbox
from bot.services.outcomes import Changed, Effects, Outcome
from bot.services.people import People
from bot.services.rotations import Rotations
from bot.services.tracking import TrackerOut
from bot.services.visibility import list_filter
from bot.services.working import Working
from bot.slack.text import clean_text, escape, is_user_id, parse_user_ref, safe

TEXT_MAX = 500
SCOPES = ("mine", "open", "all")
KIND = "follow-up due"


def parse_due(words: list[str], now: datetime, settings: Settings) -> date:
    moment = parse_moment(" ".join(words), now=now, tz=settings.team_timezone)
    if moment is None:
        raise UserError("A due day is like `2026-12-01`, `tomorrow` or `fri`.")
    return moment.astimezone(settings.team_timezone).date()


@dataclass(frozen=True)
class Asked:
    """`followup add <text> [@owner] [due <day>]`, read."""

    text: str
    owner: str | None
    due_on: date | None


def parse_add(args: str, now: datetime, settings: Settings) -> Asked:
    words = args.split()
    due_on = None
    lowered = [w.lower() for w in words]
    if "due" in lowered[:-1]:  # `due <day>` at the end is a due day; any other "due" is part of the text
        at = len(lowered) - 1 - lowered[::-1].index("due")
        tail = words[at + 1:]
        if 1 <= len(tail) <= 2 and parse_moment(" ".join(tail), now=now, tz=settings.team_timezone):
            due_on, words = parse_due(tail, now, settings), words[:at]
        elif len(tail) == 1 and not parse_user_ref(tail[0]):
            raise UserError("A due day is like `2026-12-01`, `tomorrow` or `fri`.")
    owner = parse_user_ref(words[-1]) if words else None
    if owner:
        words = words[:-1]
    text = " ".join(clean_text(" ".join(words)).split())
    if not text:
        raise UserError("Say what must be done: `/incident followup add <text> [@owner] [due <day>]`.")
    if len(text) > TEXT_MAX:
        raise UserError(f"Keep a follow-up to {TEXT_MAX} characters (it has {len(text)}).")
    return Asked(text, owner, due_on)


def line(item: FollowUp, number: int, today: date | None = None) -> str:
    due = f" · due {item.due_on.isoformat()}" if item.due_on else ""
    if item.done_at:
        state = " · done"
    elif today and item.due_on and item.due_on < today:
        state = " · *overdue*"
    else:
        state = ""
    return f"#{item.id} {incident_ref(number)} {safe(item.text)} — <@{item.owner}>{due}{state}"


class FollowUps:
    """`working`: each change of a follow-up is a change of its incident; `people` and `rotations`: whose
    calendar and business hours decide when a reminder may go."""

    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock, outbox: Outbox, working: Working,
                 people: People, rotations: Rotations, trackers: TrackerOut | None = None) -> None:
        self.settings, self.db, self.clock, self.outbox = settings, db, clock, outbox
        self.working, self.people, self.rotations = working, people, rotations
        self.trackers = trackers  # each follow-up an issue there too (closing either closes both)

    def add(self, number: int, actor: str, args: str, request_key: str | None = None) -> tuple[Changed, FollowUp]:
        asked = parse_add(args, self.clock.now(), self.settings)
        made: list[FollowUp] = []

        def apply(session: Session, incident: Incident, now: datetime) -> Outcome:
            owner = asked.owner or incident.commander_id or actor
            item = repo.follow_ups.add_follow_up(session=session, incident_id=incident.id, text=asked.text, owner=owner,
                                                 due_on=asked.due_on, created_by=actor, now=now)
            made.append(item)
            if self.trackers is not None:
                session.flush()
                self.trackers.follow_up(session, incident, item.id, now, opened=True)
            due = f", due {asked.due_on.isoformat()}" if asked.due_on else ""
            return Outcome("follow-up", f"#{item.id} {asked.text} (<@{owner}>{due})", Effects(
                f":pushpin: <@{actor}> added follow-up #{item.id} on {incident_ref(number)}: {safe(asked.text)} "
                f"— <@{owner}>{due}", refresh=False, invite=(owner,) if incident.private else ()))
        changed = self.working.change(number, actor, apply, request_key)
        return changed, (made[-1] if made else None)  # (an attempt PostgreSQL rolled back made one too)

    def _item_change(self, item_id: int, actor: str | None, request_key: str | None, what, *,
                     owner_may: bool = False, external: TrackerActor | None = None) -> Changed:
        """`owner_may`: its owner (and whoever added it) may, besides whoever may change the incident."""
        with self.db.reading() as session:
            item = repo.follow_ups.follow_up_by_id(session=session, follow_up_id=item_id)
            incident = repo.incidents.incident_by_id(session=session, incident_id=item.incident_id) if item else None
        if item is None or incident is None:
            raise UserError(f"There is no follow-up #{item_id}. `/incident followups` lists them.")

        def apply(session: Session, incident: Incident, now: datetime) -> Outcome | None:
            stored = session.get(FollowUp, item_id)
            return what(stored, incident, now)
        theirs = owner_may and actor in (item.owner, item.created_by)
        return self.working.change(incident.number, actor, apply, request_key, check_permission=not theirs,
                                   external=external)

    def done(self, item_id: int, actor: str | None, request_key: str | None = None, *, undo: bool = False,
             external: TrackerActor | None = None) -> Changed:
        """`external`: its issue was closed or reopened on a tracker (then `actor` is None)."""
        who = f"<@{actor}>" if actor else f"*{escape(str(external))}*"

        def what(item: FollowUp, incident: Incident, now: datetime) -> Outcome:
            if undo != (item.done_at is not None):
                raise UserError(f"Follow-up #{item_id} is {'not done' if undo else 'done'} already.")
            item.done_at, item.done_by = (None, None) if undo else (now, actor)
            if self.trackers is not None:
                self.trackers.follow_up(object_session(item), incident, item_id, now, opened=False,
                                        origin=external.tracker if external else None)
            verb = "reopened" if undo else "done"
            return Outcome("follow-up", f"#{item_id} {verb}: {item.text}", Effects(
                f":white_check_mark: {who} marked follow-up #{item_id} {verb}: {safe(item.text)}"
                if not undo else f":leftwards_arrow_with_hook: {who} reopened follow-up #{item_id}: "
                f"{safe(item.text)}", refresh=False))
        return self._item_change(item_id, actor, request_key, what, owner_may=actor is not None, external=external)

    def reassign(self, item_id: int, actor: str, owner: str, request_key: str | None = None) -> Changed:
        def what(item: FollowUp, incident: Incident, now: datetime) -> Outcome:
            if item.owner == owner:
                raise UserError(f"Follow-up #{item_id} is <@{owner}>'s already.")
            previous, item.owner = item.owner, owner
            return Outcome("follow-up", f"#{item_id} is <@{owner}>'s now (was <@{previous}>'s)", Effects(
                f":busts_in_silhouette: <@{actor}> gave follow-up #{item_id} to <@{owner}>: {safe(item.text)}",
                refresh=False, invite=(owner,) if incident.private else ()))  # (its owner joins a private one)
        return self._item_change(item_id, actor, request_key, what)

    def move_due(self, item_id: int, actor: str, due_on: date | None, request_key: str | None = None) -> Changed:
        def what(item: FollowUp, incident: Incident, now: datetime) -> Outcome:
            if item.due_on == due_on:
                raise UserError(f"Follow-up #{item_id} is due {due_on or 'no particular day'} already.")
            item.due_on = due_on
            when = due_on.isoformat() if due_on else "no particular day"
            return Outcome("follow-up", f"#{item_id} due {when}", Effects(
                f":calendar: <@{actor}> moved follow-up #{item_id} to {when}: {safe(item.text)}", refresh=False))
        return self._item_change(item_id, actor, request_key, what)

    def listing(self, scope: str, user: str) -> tuple[str, list[tuple[FollowUp, int]], date]:
        word = scope.strip().lower() or "mine"
        if word not in SCOPES:
            raise UserError("`followups` takes `mine`, `open` or `all`.")
        with self.db.reading() as session:
            found = repo.follow_ups.list_follow_ups(session=session, owner=user if word == "mine" else None,
                                                    open_only=word != "all", limit=40,
                                                    viewer=list_filter(user, self.settings.admins))
        what = {"mine": "Your open follow-ups", "open": "Open follow-ups", "all": "Follow-ups"}[word]
        return what, found, self.clock.now().astimezone(self.settings.team_timezone).date()

    # -- the tick ---------------------------------------------------------------------------------------------

    async def remind_due(self) -> int:
        sent = await self.db.run_background(self._remind_due)
        if sent:
            self.outbox.flush_later()
        return sent

    def _remind_due(self) -> int:
        """Overdue on the owner's own calendar, inside their business hours, once a day (the notice key holds the
        owner's date), until done."""
        now = self.clock.now()
        with self.db.reading() as session:
            overdue = repo.follow_ups.overdue_follow_ups(session=session, before=(now + timedelta(days=1)).date())
            owners = sorted({item.owner for item, _ in overdue if item.owner})
            zones = self.people.timezones(session, owners)
            hours = self.people.working_times(session, owners, self.rotations.working_time)
        sent = 0
        for item, number in overdue:
            if not is_user_id(item.owner):
                continue
            zone = zones[item.owner]
            today = now.astimezone(zone).date()
            if not item.due_on < today or not hours[item.owner].is_open(now, zone):
                continue
            with self.db.session() as session:
                if not repo.reminders.notice_once(session=session, key=f"follow-up:{item.id}:{today.isoformat()}",
                                                  kind=KIND, incident_id=item.incident_id, now=now):
                    continue
                self.outbox.queue(session, lane=user_lane(item.owner), kind=Kind.POST, now=now, channel=item.owner,
                                  text=(f":alarm_clock: Follow-up #{item.id} of {incident_ref(number)} was due "
                                        f"{item.due_on.isoformat()}: {escape(item.text)}\nWhen it is done: "
                                        f"`/incident followup done {item.id}` (or move it: "
                                        f"`/incident followup {item.id} due <day>`)."))
                session.commit()
                sent += 1
        return sent

    def overdue_of(self, session: Session, rotation_id: int) -> list[tuple[FollowUp, int]]:
        """For the handoff digest: the rotation's incidents' follow-ups past their day (team calendar)."""
        today = self.clock.now().astimezone(self.settings.team_timezone).date()
        return repo.follow_ups.overdue_follow_ups(session=session, before=today, rotation_id=rotation_id, limit=100)
