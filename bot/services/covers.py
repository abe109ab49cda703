""""Cover me" (SPEC §2 Rotation): a firefighter asks the roster to take their role for a while; the first other
member to press I'll cover gets the override. Every step takes the rotation's row lock first (as every roster
change does), so two presses at the same moment through two replicas make one override, and a cover never
overlaps another override of its role. The request's message is kept current through the delivery engine, and a
request whose start passes untaken expires at the next tick (claimed once), its requester told.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import CoverRequest, Rotation, RotationOverride
from bot.delivery.kinds import Kind, channel_lane, user_lane
from bot.domain.errors import UserError
from bot.domain.rotation import Role
from bot.services.once import commit_once, record_once
from bot.services.outbox import Outbox
from bot.services.people import People
from bot.services.rotations import OVERRIDE_MAX, Rotations
from bot.slack.text import clean_text, date_token, escape
from bot.views import covers as views

REASON_MAX = 300


class Covers:
    """`rotations`: rosters and who is on call; `people`: whose business hours it is (they are asked by DM)."""

    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock, outbox: Outbox,
                 rotations: Rotations, people: People) -> None:
        self.settings, self.db, self.clock, self.outbox = settings, db, clock, outbox
        self.rotations, self.people = rotations, people

    def _queue_message(self, session: Session, rotation: Rotation, cover: CoverRequest, kind: Kind,
                       now: datetime) -> None:
        self.outbox.queue(session, lane=channel_lane(rotation.channel_id), kind=kind, now=now, cover_id=cover.id)

    def _dm(self, session: Session, user: str, text: str, now: datetime) -> None:
        self.outbox.queue(session, lane=user_lane(user), kind=Kind.POST, now=now, channel=user, text=text)

    # -- asking -----------------------------------------------------------------------------------------------

    def request(self, rotation: Rotation, requester: str, start: datetime, end: datetime, role: Role | None,
                reason: str = "", request_key: str | None = None) -> CoverRequest:
        now = self.clock.now()
        start = max(start, now)  # asked once its time has begun: from now on (it expires at its end, not start)
        reason = " ".join(clean_text(reason).split())
        if end <= now:
            raise UserError("That time is already over; ask for cover for a time to come.")
        if end - start > OVERRIDE_MAX:
            raise UserError(f"Ask for cover for {OVERRIDE_MAX.days} days at most; change the roster for longer.")
        if len(reason) > REASON_MAX:
            raise UserError(f"Keep the reason to {REASON_MAX} characters (it has {len(reason)}).")
        with self.db.session() as session:
            locked = repo.rotations.rotation_for_change(session=session, rotation_id=rotation.id)
            if locked is None:
                raise UserError(f"The rotation `{escape(rotation.name)}` is gone.")
            record_once(session, request_key, "rotation cover", now)
            members = repo.rotations.rotation_member_ids(session=session, rotation_id=rotation.id)
            if requester not in members:
                raise UserError(f"Only people on the `{escape(rotation.name)}` roster ask it for cover; to stand in "
                                f"for someone, use `/incident rotation override`.")
            held = self.rotations.on_call(session, locked, start)
            if role is None:
                role = next((r for r, user in held.chain if user == requester), None)
                if role is None:
                    raise UserError(f"You are not on call on `{escape(rotation.name)}` at {date_token(start)}; "
                                    "cover is for a role you hold.")
            elif held.holder(role) != requester:
                raise UserError(f"You are not {role.value} on `{escape(rotation.name)}` at {date_token(start)}; "
                                "cover is for a role you hold.")
            if why := self.rotations.overlap_refusal(session, locked, role.value, start, end):
                raise UserError(why)  # (by an override: change that one instead)
            for clash in repo.covers.covers_overlapping(session=session, rotation_id=rotation.id, role=role.value,
                                                        starts_at=start, ends_at=end):
                raise UserError(f"<@{clash.requester}> already asks for cover as {role.value} on "
                                f"`{escape(rotation.name)}` from {date_token(clash.starts_at)} to "
                                f"{date_token(clash.ends_at)}, which overlaps; withdraw that request or pick "
                                "another time.")
            cover = self.open(session, locked, requester, role, start, end, reason, now, members)
            commit_once(session, request_key)
        self.outbox.flush_later()
        return cover

    def open(self, session: Session, rotation: Rotation, requester: str, role: Role, start: datetime, end: datetime,
             reason: str, now: datetime, members: list[str], away: frozenset[str] = frozenset(),
             time_off_id: int | None = None) -> CoverRequest:
        """Stores a checked request with its post in the rotation's channel (the caller holds the rotation's lock;
        time off opens them too). The other members at work now are asked by DM — not those away at any time of it."""
        cover = CoverRequest(rotation_id=rotation.id, requester=requester, role=role, starts_at=start, ends_at=end,
                             reason=reason, created_at=now, time_off_id=time_off_id)
        session.add(cover)
        session.flush()
        self._queue_message(session, rotation, cover, Kind.COVER_POST, now)
        away = away | _away_during(session, members, start, end)
        others = [m for m in members if m != requester and m not in away]
        working = self.people.working_now(session, others, now, self.rotations.working_time)
        for member in others:  # asked once, now, if it is their working day: nobody is woken for it
            if working[member]:
                self._dm(session, member, views.asked(cover, rotation.name, rotation.channel_id), now)
        return cover

    # -- answering ----------------------------------------------------------------------------------------------

    def _decided(self, cover_id: int, user: str, request_key: str | None, kind: str, decide) -> CoverRequest:
        """One transaction (tried again whole if PostgreSQL rolls it back to break a deadlock)."""
        cover = repo.database.retry_on_deadlock(self._decide_once, cover_id, user, request_key, kind, decide)
        self.outbox.flush_later()
        return cover

    def _decide_once(self, cover_id: int, user: str, request_key: str | None, kind: str, decide) -> CoverRequest:
        now = self.clock.now()
        with self.db.session() as session:
            found = repo.covers.cover_by_id(session=session, cover_id=cover_id)
            if found is None:
                raise UserError("That request for cover is gone.")
            # turns, as always
            rotation = repo.rotations.rotation_for_change(session=session, rotation_id=found.rotation_id)
            cover = repo.covers.cover_for_change(session=session, cover_id=cover_id)
            if rotation is None or cover is None:
                raise UserError("That request for cover is gone.")
            record_once(session, request_key, kind, now)  # a repeat of this very press first: it was applied
            if cover.state != "open":
                raise UserError(_closed(cover))
            decide(session, rotation, cover, now)
            cover.decided_at = now
            self._queue_message(session, rotation, cover, Kind.COVER_REFRESH, now)
            commit_once(session, request_key)
        return cover

    def take(self, cover_id: int, user: str, request_key: str | None = None) -> CoverRequest:
        """The first roster member other than the requester gets the override; later presses hear who has it."""
        def decide(session: Session, rotation: Rotation, cover: CoverRequest, now: datetime) -> None:
            if user == cover.requester:
                raise UserError("That is your own request; press Withdraw if you no longer need cover.")
            if user not in repo.rotations.rotation_member_ids(session=session, rotation_id=rotation.id):
                raise UserError(f"Only people on the `{escape(rotation.name)}` roster can cover it.")
            if cover.ends_at <= now:
                raise UserError("That time is already over.")
            if user in _away_during(session, [user], max(cover.starts_at, now), cover.ends_at):
                raise UserError("You have time off then, so you cannot cover it; nothing changed.")
            if why := self.rotations.overlap_refusal(session, rotation, cover.role, cover.starts_at, cover.ends_at):
                raise UserError(why)
            override = RotationOverride(rotation_id=rotation.id, user_id=user, role=cover.role,
                                        starts_at=max(cover.starts_at, now), ends_at=cover.ends_at, created_by=user,
                                        created_at=now)
            session.add(override)
            session.flush()
            cover.state, cover.taken_by, cover.override_id = "taken", user, override.id
            self._dm(session, cover.requester, views.taken(cover, rotation.name), now)
        return self._decided(cover_id, user, request_key, "cover take", decide)

    def withdraw(self, cover_id: int, user: str, request_key: str | None = None) -> CoverRequest:
        def decide(session: Session, rotation: Rotation, cover: CoverRequest, now: datetime) -> None:
            if user != cover.requester and user not in self.settings.admins:
                raise UserError(f"Only <@{cover.requester}>, who asked, can withdraw this request.")
            cover.state = "withdrawn"
        return self._decided(cover_id, user, request_key, "cover withdraw", decide)

    def withdraw_for_time_off(self, session: Session, time_off_id: int, now: datetime) -> int:
        """`pto remove`: the requests its time off opened and nobody took are withdrawn (their posts say so)."""
        withdrawn = 0
        for found in repo.covers.open_covers_of_time_off(session=session, time_off_id=time_off_id):
            rotation = repo.rotations.rotation_for_change(session=session, rotation_id=found.rotation_id)
            cover = repo.covers.cover_for_change(session=session, cover_id=found.id)  # read again under the lock
            if rotation is None or cover is None or cover.state != "open":
                continue  # taken (or gone) a moment ago: it stands
            cover.state, cover.decided_at = "withdrawn", now
            session.add(cover)
            self._queue_message(session, rotation, cover, Kind.COVER_REFRESH, now)
            withdrawn += 1
        return withdrawn

    # -- the tick ---------------------------------------------------------------------------------------------

    async def expire_due(self) -> int:
        """Open requests whose start has passed: each expired once (a conditional update), its requester told."""
        expired = await self.db.run_background(self._expire_due)
        if expired:
            self.outbox.flush_later()
        return expired

    def _expire_due(self) -> int:
        now = self.clock.now()
        with self.db.reading() as session:
            due = repo.covers.covers_to_expire(session=session, now=now)
        expired = 0
        for cover in due:
            with self.db.session() as session:
                rotation = repo.rotations.rotation_by_id(session=session, rotation_id=cover.rotation_id)
                if rotation is None or not repo.covers.expire_cover(session=session, cover_id=cover.id, now=now):
                    continue  # another replica got there first
                cover.state = "expired"
                self._queue_message(session, rotation, cover, Kind.COVER_REFRESH, now)
                self._dm(session, cover.requester, views.expired(cover, rotation.name), now)
                session.commit()
                expired += 1
        return expired

    def open_requests(self, user: str) -> list[tuple[CoverRequest, str]]:
        """The App Home's list: this person's open requests, with their rotation's name."""
        with self.db.reading() as session:
            covers = repo.covers.open_covers_of(session=session, user_id=user)
            names = {r.id: r.name for r in repo.rotations.all_rotations(session=session)}
        return [(c, names.get(c.rotation_id, "?")) for c in covers]


def _closed(cover: CoverRequest) -> str:
    if cover.state == "taken":
        return f"<@{cover.taken_by}> already took this one. Thanks all the same!"
    if cover.state == "withdrawn":
        return f"<@{cover.requester}> withdrew this request; nothing to cover."
    return "This request expired before anyone took it."


def _away_during(session: Session, users: list[str], start: datetime, end: datetime) -> frozenset[str]:
    """Who of `users` has time off touching [start, end): never asked to cover it, nor able to take it."""
    return frozenset(t.user_id for t in repo.schedules.time_off_of(session=session, user_ids=list(users),
                                                                   ending_after=start) if t.starts_at < end)
