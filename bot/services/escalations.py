"""Escalation policies per rotation and priority (SPEC § Schedules and escalation policies): setting and showing
them, and the policy a new chain of pages takes (its snapshot is stored on each of its pages)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import Incident, Rotation
from bot.domain.escalation import Policy, default_policy, describe, policy_from_json, policy_json
from bot.services.rotations import Rotations

PRIORITIES = ("P0", "P1")


def policy_priority(priority: str) -> str:
    """P0 pages follow the P0 policy; every other priority that pages, the P1 one."""
    return "P0" if priority == "P0" else "P1"


@dataclass(frozen=True)
class Shown:
    priority: str
    policy: Policy


class EscalationPolicies:
    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock, rotations: Rotations) -> None:
        self.settings, self.db, self.clock, self.rotations = settings, db, clock, rotations

    def default(self, priority: str) -> Policy:
        return default_policy(self.settings.escalation_timeout(policy_priority(priority)))

    def for_incident(self, session: Session, incident: Incident) -> Policy:
        """The policy a new chain of this incident's pages starts with."""
        if incident.rotation_id is None:
            return self.default(incident.priority)
        stored = repo.schedules.policy_of(session=session, rotation_id=incident.rotation_id,
                                          priority=policy_priority(incident.priority))
        return policy_from_json(stored) if stored else self.default(incident.priority)

    def shown(self, rotation: Rotation) -> list[Shown]:
        with self.db.reading() as session:
            stored = repo.schedules.policies_of(session=session, rotation_id=rotation.id)
        return [Shown(p, policy_from_json(stored[p]) if p in stored else self.default(p)) for p in PRIORITIES]

    def set(self, rotation: Rotation, priorities: tuple[str, ...], policy: Policy | None, actor: str,
            request_key: str | None = None) -> None:
        """Stores the policy for those priorities (None: back to the seeds' chain), once per request, by whoever
        may change the roster; said in the rotation's channel. Pages already sent keep the policy they started
        with."""
        now = self.clock.now()
        which = " and ".join(priorities)
        said = describe(policy) if policy else "the default chain (primary → secondary → tertiary → @here)"
        with self.rotations.roster_change(rotation, actor, request_key, "rotation escalation") as session:
            for priority in priorities:
                repo.schedules.set_policy(session=session, rotation_id=rotation.id, priority=priority,
                                          policy=policy_json(policy) if policy else None, user_id=actor, now=now)
            self.rotations.outbox.queue_post(session, rotation.channel_id, f":rotating_light: <@{actor}> set the "
                                             f"{which} escalation policy of `{rotation.name}`: {said}. Pages already "
                                             "sent keep the policy they started with.", now)
        self.rotations.outbox.flush_later()
