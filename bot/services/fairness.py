"""`rotation stats [name] [weeks]`, the fairness section of `/rotations/<name>` and `rotation report <name> [YYYY-MM]`
(with its CSV): the stored roster versions, swaps, overrides (covers included), pages and covers of a rotation, read
once and handed to the pure rules (bot/domain/fairness.py, bot/domain/burden.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from bot.clock import Clock
from bot.db import repo
from bot.db.models import Rotation
from bot.domain.burden import Report, burden, parse_month
from bot.domain.fairness import CoverFact, Load, PageFact, RosterVersion, fairness
from bot.domain.rotation import Override, Swap
from bot.domain.shifts import ShiftPlan
from bot.domain.time_off import Away
from bot.services.people import People
from bot.services.rotation_inputs import layer_of
from bot.services.rotations import Rotations

History = tuple[ShiftPlan, list[RosterVersion], list[Override], list[Swap], list[PageFact]]


class Fairness:
    """`rotations`: the handoff, business hours and ONCALL_RATES; `people`: whose timezone and holidays make an hour
    or a page one outside business hours."""

    def __init__(self, db: repo.database.Database, clock: Clock, rotations: Rotations, people: People) -> None:
        self.db, self.clock, self.rotations, self.people = db, clock, rotations, people

    def _history(self, session: Session, rotation: Rotation, since: datetime, until: datetime) -> History:
        """What decided who held each role in [since, until), and the pages sent then."""
        handoff = self.rotations.plan_of(session, rotation)
        versions = [RosterVersion(v.since, tuple(u for u in v.members.split(",") if u))
                    for v in repo.rotations.roster_versions(session=session, rotation_id=rotation.id)]
        if not versions:  # a rotation from before versions were kept: today's roster all along
            members = tuple(m.user_id for m in repo.rotations.roster(session=session, rotation_id=rotation.id))
            versions = [RosterVersion(rotation.created_at, members)]
        overrides = [Override(o.user_id, o.role, o.starts_at, o.ends_at, created=o.id or 0)
                     for o in repo.rotations.overrides_for(session=session, rotation_id=rotation.id,
                                                           ending_after=since)]
        swaps = [Swap(s.user_a, s.user_b, s.shift_index) for s in repo.rotations.swaps_for(
            session=session, rotation_id=rotation.id, from_shift=handoff.shift_index(since, rotation.created_at))]
        pages = [PageFact(p.target_user_id, p.sent_at, p.acknowledged_at, p.acknowledged_by)
                 for p in repo.pages.pages_of_rotation(session=session, rotation_id=rotation.id, since=since,
                                                       until=until) if p.target_user_id and p.sent_at]
        return handoff, versions, overrides, swaps, pages

    def loads(self, rotation: Rotation, weeks: int) -> list[Load]:
        until = self.clock.now()
        since = until - timedelta(weeks=weeks)
        with self.db.reading() as session:
            handoff, versions, overrides, swaps, pages = self._history(session, rotation, since, until)
            layers, away, _ = self._layers_and_away(session, rotation, versions, overrides, swaps, pages, since)
            covers = [CoverFact(c.requester, c.taken_by, c.starts_at) for c in repo.covers.covers_taken_between(
                session=session, rotation_id=rotation.id, since=since, until=until) if c.taken_by]
            paged = sorted({p.user for p in pages})
            zones = self.people.timezones(session, paged)
            hours = self.people.working_times(session, paged, self.rotations.working_time)
        return fairness(since=since, until=until, handoff=handoff, origin=rotation.created_at, rosters=versions,
                        overrides=overrides, swaps=swaps, pages=pages, covers=covers,
                        working=lambda user, moment: hours[user].is_open(moment, zones[user]), away=away,
                        layers=layers)

    @staticmethod
    def _layers_and_away(session: Session, rotation: Rotation, versions, overrides, swaps, pages,
                         since: datetime) -> tuple[list, list[Away], list[str]]:
        """The rotation's layers, everyone who could have held a role since `since`, and their time off."""
        layers = [layer_of(row) for row in repo.schedules.layers_of(session=session, rotation_ids=[rotation.id])
                  .get(rotation.id, [])]
        people = sorted({*(u for v in versions for u in v.members), *(o.user_id for o in overrides),
                         *(u for s in swaps for u in (s.a, s.b)), *(p.user for p in pages),
                         *(u for layer in layers for u in layer.roster)})
        away = [Away(t.user_id, t.starts_at, t.ends_at)
                for t in repo.schedules.time_off_of(session=session, user_ids=people, ending_after=since)]
        return layers, away, people

    def report(self, rotation: Rotation, month_text: str) -> Report:
        """The burden report of a month (`YYYY-MM`, blank for this one, counted up to now while it runs). Each
        person's hours are sorted by their own timezone and holidays (`me holidays`); a month not begun or
        malformed is a UserError before anything is read."""
        settings, now = self.rotations.settings, self.clock.now()
        month = parse_month(month_text, now, settings.team_timezone)
        since, end = month.bounds(settings.team_timezone)
        until = min(end, now)
        with self.db.reading() as session:
            handoff, versions, overrides, swaps, pages = self._history(session, rotation, since, until)
            layers, away, people = self._layers_and_away(session, rotation, versions, overrides, swaps, pages,
                                                         since)
            zones = self.people.timezones(session, people)
            hours = self.people.working_times(session, people, self.rotations.working_time)
        figures = burden(since=since, until=until, handoff=handoff, origin=rotation.created_at, rosters=versions,
                         overrides=overrides, swaps=swaps, pages=pages, working=hours, zones=zones, away=away,
                         layers=layers)
        return Report(rotation.name, month, since, until, until == end, figures, settings.oncall_rates)
