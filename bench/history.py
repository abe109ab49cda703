"""The stored history the bot is measured with: `total` incidents over two years, `open_count` of them open, four to
six timeline events each, pages for the P0/P1s, and one rotation ("payments", three members). Written straight
into a database the bot's own migrations made, in a few bulk inserts (declaring 100,000 incidents through Slack
would take hours)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.db.engine import make_engine
from bot.db.models import NEVER, RECHECK, Incident, Page, Rotation, RotationMember, TimelineEvent
from bot.db.schema import upgrade_to_head

ROTATION_ID = 1
ROTATION_CHANNEL = "C0PAY"
MEMBERS = ("U0A", "U0B", "U0C")
PEOPLE = (*MEMBERS, "U0D", "U0R")


def channel_of(number: int) -> str:
    return f"C{number:09d}"


def migrated(url: str) -> sa.Engine:
    engine = make_engine(url)
    upgrade_to_head(engine)
    return engine


def seed(engine: sa.Engine, total: int, open_count: int, now: datetime, *, nothing_due: bool = False,
         seed_value: int = 7) -> list[int]:
    """Returns the open incidents' numbers. `nothing_due`: the open ones were declared within the hour, are
    triaged and were updated a minute ago, so no reminder, page or nudge is due for a while (at a `now` inside
    working hours); otherwise they are a day or three old, with the reminders such a history has owed."""
    rng = random.Random(seed_value)
    open_numbers = set(rng.sample(range(1, total + 1), open_count)) if total else set()
    with engine.begin() as connection:
        connection.execute(sa.insert(Rotation.__table__), [{
            "id": ROTATION_ID, "name": "payments", "channel_id": ROTATION_CHANNEL, "created_by": "U0A",
            "created_at": now - timedelta(days=800)}])
        connection.execute(sa.insert(RotationMember.__table__), [
            {"rotation_id": ROTATION_ID, "user_id": u, "position": i} for i, u in enumerate(MEMBERS)])
        incidents: list[dict] = []
        events: list[dict] = []
        pages: list[dict] = []
        for number in range(1, total + 1):
            is_open = number in open_numbers
            if is_open and nothing_due:
                created = now - timedelta(minutes=rng.uniform(5, 50))
                status = rng.choice(("triaged", "in_progress", "blocked"))
            elif is_open:
                created = now - timedelta(hours=rng.uniform(1, 72))
                status = rng.choice(("new", "triaged", "in_progress", "blocked"))
            else:
                created = now - timedelta(days=rng.uniform(3, 730))
                status = "resolved"
            priority = rng.choice(("P0", "P1", "P1", "P2", "P2", "P2"))
            acknowledged = created + timedelta(minutes=rng.uniform(1, 4))
            last_update = now - timedelta(minutes=1) if is_open and nothing_due else created + timedelta(minutes=10)
            incidents.append({
                "id": number, "number": number, "title": f"Incident {number}", "description": "", "priority": priority,
                "status": status, "impacts": "", "reporter_id": "U0R", "commander_id": rng.choice(PEOPLE[:4]),
                "rotation_id": ROTATION_ID, "channel_id": channel_of(number), "channel_name": f"inc-{number}",
                "slack_steps_done": "done", "summary_ts": f"{number}.000001", "created_at": created,
                "updated_at": created, "acknowledged_at": acknowledged,
                "resolved_at": None if is_open else created + timedelta(hours=rng.uniform(1, 48)),
                "last_update_at": last_update, "reopen_count": 0, "resolution": "", "follow_ups": "",
                "postmortem": "", "source": "slack", "alert_count": 0,
                "p0_since": created if priority == "P0" else None,
                # as the bot leaves them: a closed incident has nothing coming due; an open one is worked out at
                # the first tick
                "next_due_at": RECHECK if is_open else NEVER})
            events.append({"incident_id": number, "at": created, "actor_id": "U0R", "kind": "declared",
                           "text": f"{priority}: Incident {number}"})
            events += [{"incident_id": number, "at": min(at, now), "actor_id": "U0A", "kind": "update",
                        "text": "Still looking"}
                       for at in sorted(created + timedelta(minutes=rng.uniform(0, 600))
                                        for _ in range(rng.randint(3, 5)))]
            if priority != "P2":
                pages.append({"incident_id": number, "chain": 1, "step": 0, "start": "primary",
                              "target_role": "primary", "target_user_id": "U0A", "note": "", "state": "done",
                              "created_at": created, "sent_at": created, "acknowledged_at": acknowledged,
                              "acknowledged_by": "U0A"})
            if len(incidents) >= 5000:
                _flush(connection, incidents, events, pages)
        _flush(connection, incidents, events, pages)
        if engine.dialect.name == "postgresql":  # ids were given: move the sequences past them
            for table in (Incident.__table__, Rotation.__table__):
                connection.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                           f"(SELECT coalesce(max(id), 1) FROM {table.name}))"))
    return sorted(open_numbers)


def _flush(connection, incidents: list, events: list, pages: list) -> None:
    for table, rows in ((Incident.__table__, incidents), (TimelineEvent.__table__, events), (Page.__table__, pages)):
        if rows:
            connection.execute(sa.insert(table), rows)
        rows.clear()
