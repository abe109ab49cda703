"""Run by tests/test_schedule_upgrade.py with one version of the bot on the path (the previous release's, then
this one's): `seed` stores three rotations as the previous version would have them; `answers` prints who is on
call every three hours for 8 weeks, and around every handoff, as JSON. Uses only names both versions have."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from bot.clock import FakeClock
from bot.config import load_settings
from bot.db.models import RosterVersion, Rotation, RotationMember, RotationOverride, RotationSwap
from bot.runtime.wiring import build_runtime

START = datetime(2026, 10, 20, 7, 0, tzinfo=UTC)  # across Europe's DST change on 25 October


def runtime(url: str):
    settings = load_settings(_env_file=None, slack_bot_token="xoxb-upgrade", slack_signing_secret="upgrade",
                             slack_api_url="http://127.0.0.1:9/api/", database_url=url,
                             incidents_channel="C0INCIDENTS", team_timezone="Europe/Berlin", handoff_weekday="monday",
                             handoff_time="09:30")
    return build_runtime(settings, clock=FakeClock(START), scheduler=False)


def seed(url: str) -> None:
    engine = runtime(url).engine
    with Session(engine) as session:
        for n, (roster, created) in enumerate([(("U0A", "U0B", "U0C", "U0D"), START - timedelta(days=40)),
                                               (("U0E", "U0F"), START + timedelta(days=3, hours=5)),
                                               (("U0G",), START - timedelta(days=1))]):
            rotation = Rotation(name=f"team-{n}", channel_id=f"C0TEAM{n}", created_by=roster[0], created_at=created)
            session.add(rotation)
            session.flush()
            session.add_all(RotationMember(rotation_id=rotation.id, user_id=u, position=i)
                            for i, u in enumerate(roster))
            session.add(RosterVersion(rotation_id=rotation.id, since=created, members=",".join(roster)))
            session.add(RotationOverride(rotation_id=rotation.id, user_id="U0Z", role="secondary",
                                         starts_at=START + timedelta(days=9, hours=3),
                                         ends_at=START + timedelta(days=12), created_by=roster[0], created_at=START))
            session.add(RotationSwap(rotation_id=rotation.id, user_a=roster[0], user_b=roster[-1], shift_index=n + 6,
                                     created_by=roster[0], created_at=START))
        session.commit()


def answers(url: str) -> list:
    built = runtime(url)
    rotations = built.services.rotations
    found = []
    with Session(built.engine) as session:
        for rotation in session.exec(select(Rotation).order_by(Rotation.id)).all():
            moments = [START + timedelta(hours=3 * i) for i in range(8 * 7 * 8)]
            edges = {rotations.on_call(session, rotation, m).shift_end for m in moments}
            for at in sorted({*moments, *edges, *(e - timedelta(seconds=1) for e in edges)}):
                held = rotations.on_call(session, rotation, at)
                found.append([rotation.name, at.isoformat(), held.shift_index, held.shift_start.isoformat(),
                              held.shift_end.isoformat(), held.primary, held.secondary, held.tertiary])
    return found


if __name__ == "__main__":
    if sys.argv[1] == "seed":
        seed(sys.argv[2])
    else:
        json.dump(answers(sys.argv[2]), sys.stdout)
