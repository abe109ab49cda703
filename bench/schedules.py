"""SPEC § 7's schedules row: 200 rotations of three layers each, 50 overrides and 20 people away, stored beside the
history, so a tick (and `oncall`) is measured with them all. Rows are written directly, as a real team's would
stand after months of `rotation layer`, `rotation override` and `pto add`."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.db.models import Rotation, RotationMember, RotationOverride
from bot.db.schedule_models import RotationLayer, TimeOff
from bot.domain.rotation import Role

ROTATIONS, LAYERS, OVERRIDES, AWAY = 200, 3, 50, 20
PEOPLE = tuple(f"U0P{n:03d}" for n in range(40))
WINDOWS = (("0,1,2,3,4", "00:00", "08:00", "Asia/Tokyo"), ("0,1,2,3,4", "08:00", "16:00", "Europe/Berlin"),
           ("0,1,2,3,4", "09:00", "17:00", "America/New_York"))


def seed(engine: Engine, now: datetime, people: tuple[str, ...] = PEOPLE) -> None:
    rng = random.Random(7)
    with Session(engine) as session:
        for n in range(ROTATIONS):
            rotation = Rotation(name=f"team-{n:03d}", channel_id=f"C0T{n:05d}", created_by=people[0],
                                created_at=now - timedelta(days=rng.randint(30, 400)))
            session.add(rotation)
            session.flush()
            roster = rng.sample(people, k=min(4, len(people)))
            session.add_all(RotationMember(rotation_id=rotation.id, user_id=u, position=i)
                            for i, u in enumerate(roster))
            session.add_all(RotationLayer(rotation_id=rotation.id, name=f"layer-{i}", days=days, start=start, end=end,
                                          tz=tz, roster=",".join(rng.sample(people, k=min(3, len(people)))),
                                          position=i + 1, set_by=people[0], set_at=now)
                            for i, (days, start, end, tz) in enumerate(WINDOWS[:LAYERS]))
            if n < OVERRIDES:
                start = now + timedelta(hours=rng.randint(-48, 240))
                session.add(RotationOverride(rotation_id=rotation.id, user_id=rng.choice(people),
                                             role=rng.choice(list(Role)), starts_at=start,
                                             ends_at=start + timedelta(hours=rng.randint(4, 72)),
                                             created_by=people[0], created_at=now))
        for user in rng.sample(people, k=min(AWAY, len(people))):
            start = now + timedelta(days=rng.randint(-3, 10))
            session.add(TimeOff(user_id=user, starts_at=start, ends_at=start + timedelta(days=rng.randint(1, 14)),
                                created_by=user, created_at=now))
        session.commit()
