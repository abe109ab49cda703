"""Time off (SPEC § Schedules: `pto add [@person] <from> <to> [reason]`, `pto list [rotation]`, `pto remove <id>`):
whoever is away holds no role and is never paged (bot/domain/time_off.py decides who stands in). Recording it opens
a cover request at once for every shift it takes a role from, so the team can pick who covers; removing it
withdraws the requests nobody took. Times are in the away person's own timezone; a bare end day counts whole."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import Rotation
from bot.db.schedule_models import TimeOff
from bot.domain.errors import UserError
from bot.domain.segments import held_spans
from bot.domain.time_off import check_time_off
from bot.domain.when import parse_moment
from bot.services.covers import Covers
from bot.services.once import commit_once, record_once
from bot.services.outbox import Outbox
from bot.services.people import People
from bot.services.rotations import Rotations
from bot.slack.text import clean_text, date_token, echo, escape, parse_user_ref

PTO_USAGE = ("Use `/incident pto add [@person] <from> <to> [reason]` (like `pto add 2026-12-24 2027-01-02 family`: "
             "a bare end day counts whole), `pto list [rotation]` or `pto remove <id>`.")
COVERS_AT_MOST = 12  # cover requests one time off opens (a long leave on a daily rotation asks for the first ones)


def _when(moment: datetime, tz: tzinfo) -> str:
    return date_token(moment, "{date_short_pretty} {time}", tz=tz)


def read_range(words: list[str], now: datetime, tz: tzinfo) -> tuple[datetime, datetime, str]:
    """`<from> <to> [reason]`: the longest start of the words that reads as two moments; a bare day as the end
    means the end of that day (time off is counted in whole days by most people)."""
    for size in range(min(len(words), 4), 1, -1):
        for split in range(1, size):
            start = parse_moment(" ".join(words[:split]), now=now, tz=tz)
            end = parse_moment(" ".join(words[split:size]), now=now, tz=tz)
            if start is None or end is None:
                continue
            end_words = " ".join(words[split:size]).lower()
            if ":" not in end_words and end_words != "now" and end.astimezone(tz).time() == datetime.min.time():
                end = (end.astimezone(tz) + timedelta(days=1)).astimezone(end.tzinfo)  # a bare day: all of it
            if end <= start:
                raise UserError("The end must come after the start.")
            return start, end, " ".join(words[size:])
    raise UserError(PTO_USAGE)


class TimeOffs:
    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock, outbox: Outbox,
                 rotations: Rotations, people: People, covers: Covers) -> None:
        self.settings, self.db, self.clock, self.outbox = settings, db, clock, outbox
        self.rotations, self.people, self.covers = rotations, people, covers

    @staticmethod
    def _rotations_of(session: Session, person: str) -> list[Rotation]:
        """The rotations `person` is on: by its roster or one of its layers' — in id order (locked in that order)."""
        found = {r.id: r for r in repo.rotations.rotations_of_member(session=session, user_id=person)}
        for rotation_id in repo.schedules.rotations_with_layer_member(session=session, user_id=person):
            if rotation_id not in found and (rotation := repo.rotations.rotation_by_id(
                    session=session, rotation_id=rotation_id)) is not None:
                found[rotation_id] = rotation
        return [found[key] for key in sorted(found)]

    def _may(self, actor: str, person: str, rotations: list[Rotation]) -> None:
        """A person records their own; ADMINS and the creator of a rotation the person is on, anyone's."""
        if actor == person or actor in self.settings.admins or any(r.created_by == actor for r in rotations):
            return
        raise UserError(f"You may record your own time off; <@{person}>'s is theirs to record (or ADMINS', or the "
                        "creator's of a rotation they are on). Nothing changed.")

    def add(self, actor: str, text: str, request_key: str | None = None) -> str:
        words = text.split()
        person = parse_user_ref(words[0]) if words else None
        words = words[1:] if person else words
        person = person or actor
        with self.db.session() as session:
            tz = self.people.timezones(session, [person])[person]
        start, end, reason = read_range(words, self.clock.now(), tz)
        return self.record(actor, person, start, end, reason, request_key)[1]

    def record(self, actor: str, person: str, start: datetime, end: datetime, reason: str,
               request_key: str | None = None) -> tuple[TimeOff, str]:
        """Time off, from `pto add` or the API: the row and what to answer."""
        now = self.clock.now()
        with self.db.session() as session:
            tz = self.people.timezones(session, [person])[person]
            reason = " ".join(clean_text(reason).split())
            check_time_off(start, end, now, reason)
            rotations = self._rotations_of(session, person)
            self._may(actor, person, rotations)
            record_once(session, request_key, "pto add", now)
            locked = [r for r in (repo.rotations.rotation_for_change(session=session, rotation_id=rotation.id)
                                  for rotation in rotations) if r is not None]  # in id order: no deadlock
            shifts = [(rotation, self._roles_taken(session, rotation, person, start, end)) for rotation in locked]
            row = TimeOff(user_id=person, starts_at=start, ends_at=end, reason=reason, created_by=actor,
                          created_at=now)
            session.add(row)
            session.flush()
            opened, why = [], f"time off{': ' if reason else ''}{reason}"[:300]
            for rotation, taken in shifts:
                members = repo.rotations.rotation_member_ids(session=session, rotation_id=rotation.id)
                for role, since, until in taken:
                    opened.append(self.covers.open(
                        session, rotation, person, role, since, until, why, now, members, away=frozenset({person}),
                        time_off_id=row.id))
            commit_once(session, request_key)
        self.outbox.flush_later()
        where = ", ".join(sorted({f"<#{r.channel_id}>" for r in locked}))
        covers = (f" {len(opened)} cover request{'s' if len(opened) != 1 else ''} opened in {where}." if opened
                  else "")
        return row, (f"Recorded (#{row.id}): <@{person}> is away from {_when(start, tz)} to {_when(end, tz)}. While "
                     f"away they hold no role and are never paged; the next person of each roster stands in.{covers}")

    def _roles_taken(self, session: Session, rotation: Rotation, person: str, start: datetime,
                     end: datetime) -> list[tuple]:
        """(role, from, to) for each stretch of the time off in which `person` would hold a role — each shift, cut
        at layers' windows and overrides. A request that would overlap one already open is left out."""
        since = max(start, self.clock.now())
        inputs = self.rotations.inputs(session, rotation, since)
        spans = held_spans(person, inputs.members, since, end, limit=COVERS_AT_MOST, **inputs.rules())
        return [(role, begin, until) for role, begin, until in spans if not repo.covers.covers_overlapping(
            session=session, rotation_id=rotation.id, role=role.value, starts_at=begin, ends_at=until)]

    def listing(self, text: str, channel_id: str | None) -> str:
        now = self.clock.now()
        name = text.strip()
        with self.db.reading() as session:
            people = None
            if name:
                rotation = self.rotations.find_rotation(name, channel_id)
                people = repo.rotations.rotation_member_ids(session=session, rotation_id=rotation.id)
            rows = repo.schedules.time_off_of(session=session, user_ids=people, ending_after=now)[:50]
            zones = self.people.timezones(session, sorted({r.user_id for r in rows}))
        if not rows:
            return "Nobody has time off recorded" + (f" on `{escape(name)}`." if name else ".") + \
                " Record some with `/incident pto add [@person] <from> <to> [reason]`."
        lines = ["*Time off*" + (f" on `{escape(name)}`" if name else "")]
        for row in rows:
            tz = zones[row.user_id]
            now_away = " _(away now)_" if row.starts_at <= now else ""
            lines.append(f"• #{row.id} <@{row.user_id}> from {_when(row.starts_at, tz)} to {_when(row.ends_at, tz)}"
                         f"{now_away}" + (f" — {escape(row.reason)}" if row.reason else ""))
        return "\n".join(lines)

    def remove(self, actor: str, text: str) -> str:
        word = text.strip().lstrip("#")
        if not word.isdigit():
            raise UserError(PTO_USAGE)
        now = self.clock.now()
        with self.db.session() as session:
            row = repo.schedules.time_off_by_id(session=session, time_off_id=int(word))
            if row is None:
                raise UserError(f"There is no time off #{echo(word)}; `/incident pto list` shows them.")
            self._may(actor, row.user_id, self._rotations_of(session, row.user_id))
            withdrawn = self.covers.withdraw_for_time_off(session, row.id, now)
            session.delete(row)
            session.commit()
        self.outbox.flush_later()
        return (f"Removed time off #{word} of <@{row.user_id}>: they are on the rotation as before"
                + (f"; {withdrawn} cover request{'s' if withdrawn != 1 else ''} nobody took withdrawn." if withdrawn
                   else "."))

