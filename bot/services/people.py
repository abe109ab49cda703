"""People as Slack knows them, learnt from `users.info` now and then: their timezones, so business hours are each
person's own, and their names and pictures, so the web shows people, not ids. And the public holidays each person
keeps (`me holidays`), so a holiday is a day off for whoever has it, not for the whole team."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.clock import Clock
from bot.db import repo
from bot.domain.business_hours import WorkingTime
from bot.domain.holidays import HolidayCalendar, parse_calendar
from bot.slack.gateway import TRANSPORT_ERRORS, SlackGateway, SlackUser, slack_error, transient

log = logging.getLogger(__name__)

PEOPLE_REFRESH = timedelta(days=1)
PEOPLE_CHECK = timedelta(minutes=10)
PEOPLE_SHOWN = timedelta(days=7)  # the board shows incidents resolved in the last week, with their people
NAMES_BUDGET = 1.5  # seconds a page waits for Slack to name the people it shows (then: "a teammate")
NAMES_AT_ONCE = 8  # users.info calls in flight for one page
NAMES_PER_PAGE = 50


class People:
    def __init__(self, db: repo.database.Database, slack: SlackGateway, clock: Clock, team_timezone: ZoneInfo) -> None:
        self.db, self.slack, self.clock, self.team_timezone = db, slack, clock, team_timezone
        self._checked: datetime | None = None
        self._wanted: set[str] = set()  # people a web page showed without knowing them (asked at the next look)
        self._wanted_lock = threading.Lock()

    def deactivated(self, user_id: str) -> None:
        """Slack said the person was deactivated (`user_change`): their web sessions end at once."""
        with self.db.session() as session:
            ended = repo.web.end_web_sessions_of(session=session, user_id=user_id)
            session.commit()
        if ended:
            log.info("%s was deactivated in Slack: %d web session(s) ended", user_id, ended)

    def want(self, users: Iterable[str]) -> None:
        """Someone Slack never told us about was shown (a mention, an override, an event's actor): their name is
        asked for at the next look, so pages name them from then on. Thread-safe (pages render in db threads)."""
        with self._wanted_lock:
            self._wanted.update(u for u in users if u and u[:1] in "UW" and len(u) <= 32)
            while len(self._wanted) > 500:  # a flood of strange ids never grows without bound
                self._wanted.pop()

    async def names_now(self, users: Iterable[str], budget: float = NAMES_BUDGET) -> int:
        """Ask Slack now about people a page is about to show (in parallel, at most NAMES_AT_ONCE at a time, for at
        most `budget` seconds in all); those not answered by then are asked at the next look. How many were
        learnt."""
        users = sorted({u for u in users if u and u[:1] in "UW" and len(u) <= 32})[:NAMES_PER_PAGE]
        if not users:
            return 0
        now, limit = self.clock.now(), asyncio.Semaphore(NAMES_AT_ONCE)

        async def one(user: str) -> bool:
            async with limit:
                try:
                    found = await self.slack.user_info(user)
                except (SlackApiError, *TRANSPORT_ERRORS) as exc:
                    if transient(exc):
                        return False
                    found = None  # no such person: stored as unknown, asked again tomorrow
            await self.db.run_background(self._save, user, found, now, found is None)
            with self._wanted_lock:
                self._wanted.discard(user)
            return found is not None

        tasks = [asyncio.ensure_future(one(user)) for user in users]
        done, pending = await asyncio.wait(tasks, timeout=budget)
        for task in pending:
            task.cancel()
        return sum(1 for task in done if not task.cancelled() and task.exception() is None and task.result())

    def timezones(self, session: Session, users: Sequence[str]) -> dict[str, ZoneInfo]:
        """Each person's Slack timezone where known, else the team's."""
        known = repo.people.people(session=session, user_ids=list(users))
        zones: dict[str, ZoneInfo] = {}
        for user in users:
            zones[user] = self.team_timezone
            person = known.get(user)
            if person and person.tz:
                with contextlib.suppress(ZoneInfoNotFoundError, ValueError):  # a zone this machine does not know
                    zones[user] = ZoneInfo(person.tz)
        return zones

    def working_times(self, session: Session, users: Sequence[str], team: WorkingTime) -> dict[str, WorkingTime]:
        """Each person's business hours: the team's days and hours, with the public holidays they chose (`me
        holidays`), else the team's (HOLIDAYS)."""
        chosen = repo.schedules.calendars_of(session=session, user_ids=sorted(set(users)))
        return {user: team if user not in chosen else replace(team, holidays=_calendar(chosen[user]))
                for user in users}

    def working_now(self, session: Session, users: Sequence[str], now: datetime,
                    team: WorkingTime) -> dict[str, bool]:
        """Whether it is each person's business hours at `now`: their timezone, their holidays."""
        zones, hours = self.timezones(session, users), self.working_times(session, users, team)
        return {user: hours[user].is_open(now, zones[user]) for user in users}

    def holidays(self, user: str, text: str, team: HolidayCalendar | None) -> str:
        """`me holidays [<country[-subdivision]>|none|team]`: shows, or sets, whose public holidays are the
        person's days off. Setting the same twice is the same answer (no replay key needed)."""
        word = text.strip()
        with self.db.session() as session:
            if word:
                calendar = None if word.lower() in ("team", "default") else \
                    "none" if word.lower() == "none" else parse_calendar(word).code
                repo.schedules.set_calendar(session=session, user_id=user, calendar=calendar, now=self.clock.now())
                try:
                    session.commit()
                except IntegrityError:  # the same person's other request stored it a moment ago: store over it
                    session.rollback()
                    repo.schedules.set_calendar(session=session, user_id=user, calendar=calendar,
                                                now=self.clock.now())
                    session.commit()
            chosen = repo.schedules.calendars_of(session=session, user_ids=[user]).get(user)
            zone = self.timezones(session, [user])[user]
        return _holidays_text(chosen, team, self.clock.now().astimezone(zone).date(), changed=bool(word))

    async def refresh_now_and_then(self) -> int:
        """From the tick: look for stale timezones every ten minutes, not every tick."""
        now = self.clock.now()
        if self._checked and abs(now - self._checked) < PEOPLE_CHECK:
            return 0
        self._checked = now
        return await self.refresh()

    async def refresh(self, users: Sequence[str] | None = None, limit: int = 20) -> int:
        """Fetch Slack timezones for these users, or for roster members and commanders not refreshed in a day."""
        now = self.clock.now()
        if users is None:
            with self._wanted_lock:
                wanted, self._wanted = list(self._wanted)[:limit], set(list(self._wanted)[limit:])
            users = wanted + [u for u in await self.db.run_background(self._stale, now, limit - len(wanted))
                              if u not in wanted]
        done = 0
        for user in users:
            try:
                found = await self.slack.user_info(user)
            except (SlackApiError, *TRANSPORT_ERRORS) as exc:
                # The last known zone stays: a hiccup must not move someone's business hours to the team's. A
                # passing failure is asked again at the next look; a refusal (user_not_found) tomorrow.
                log.info("users.info %s: %s", user, slack_error(exc) if isinstance(exc, SlackApiError) else exc)
                if transient(exc):
                    continue
                await self.db.run_background(self._save, user, None, now, True)
                continue
            await self.db.run_background(self._save, user, found, now, False)
            done += 1
        return done

    def _stale(self, now: datetime, limit: int) -> list[str]:
        with self.db.session() as session:
            return repo.people.people_to_refresh(session=session, fetched_before=now - PEOPLE_REFRESH, limit=limit,
                                                 active_since=now - PEOPLE_SHOWN)

    def _save(self, user: str, found: SlackUser | None, now: datetime, keep_tz: bool) -> None:
        with self.db.session() as session:
            repo.people.save_person(session=session, user_id=user, tz=found.tz if found else None, now=now,
                                    keep_tz=keep_tz, name=found.name if found else None,
                                    avatar=found.avatar if found else None)
            try:
                session.commit()
            except IntegrityError:  # another replica stored this person a moment ago: same answer
                session.rollback()


def _calendar(code: str) -> HolidayCalendar | None:
    return None if code == "none" else HolidayCalendar.from_code(code)


def _holidays_text(chosen: str | None, team: HolidayCalendar | None, today: date, changed: bool) -> str:
    calendar = team if chosen is None else _calendar(chosen)
    whose = ("the team's" + (f" (`{team.code}`)" if team else ", and the team keeps none")) if chosen is None else \
        "none" if calendar is None else f"`{calendar.code}`"
    lines = [f"{'Done: your' if changed else 'Your'} public holidays are {whose}."]
    if calendar is not None:
        upcoming = calendar.between(today, today + timedelta(days=366))[:4]
        if upcoming:
            lines.append("Next: " + ", ".join(day.strftime("%a %Y-%m-%d") for day in upcoming) + ".")
    lines.append("A holiday is not a business day for you: a P1 pages the next firefighter whose business hours it "
                 "is; the P1 and triage targets of incidents you command skip it; heading-home nudges and "
                 "follow-up reminders wait for your next working day; a cover request does not DM you. "
                 "`/incident me holidays <DE-BY|US-CA|…>`, `none` or `team`.")
    return "\n".join(lines)
