"""`rotation stats [name] [weeks]` and the fairness section of `/rotations/<name>`: the stored roster versions,
swaps, overrides (covers included), pages and covers of a rotation, read once and handed to the pure rule
(bot/domain/fairness.py)."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import Clock
from bot.db import repo
from bot.db.models import Rotation
from bot.domain.fairness import CoverFact, Load, PageFact, RosterVersion, fairness
from bot.domain.rotation import Override, Swap
from bot.services.people import People
from bot.services.rotations import Rotations


class Fairness:
    """`rotations`: the handoff and business hours; `people`: whose timezone makes a page a night page."""

    def __init__(self, db: repo.database.Database, clock: Clock, rotations: Rotations, people: People) -> None:
        self.db, self.clock, self.rotations, self.people = db, clock, rotations, people

    def loads(self, rotation: Rotation, weeks: int) -> list[Load]:
        until = self.clock.now()
        since = until - timedelta(weeks=weeks)
        with self.db.reading() as session:
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
                session=session, rotation_id=rotation.id,
                from_shift=handoff.shift_index(since, rotation.created_at))]
            pages = [PageFact(p.target_user_id, p.sent_at, p.acknowledged_at, p.acknowledged_by)
                     for p in repo.pages.pages_of_rotation(session=session, rotation_id=rotation.id, since=since,
                                                           until=until) if p.target_user_id and p.sent_at]
            covers = [CoverFact(c.requester, c.taken_by, c.starts_at) for c in repo.covers.covers_taken_between(
                session=session, rotation_id=rotation.id, since=since, until=until) if c.taken_by]
            paged = sorted({p.user for p in pages})
            zones = self.people.timezones(session, paged)
            hours = self.people.working_times(session, paged, self.rotations.working_time)
        return fairness(since=since, until=until, handoff=handoff, origin=rotation.created_at, rosters=versions,
                        overrides=overrides, swaps=swaps, pages=pages, covers=covers,
                        working=lambda user, moment: hours[user].is_open(moment, zones[user]))
