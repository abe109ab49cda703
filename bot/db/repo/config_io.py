"""Configuration as code (`python -m bot config export|apply`): the queries it needs beyond the other modules' —
every policy and holiday choice at once, people's verified email addresses, and what keeps a rotation from being
removed."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.db.contact_models import ContactMethod
from bot.db.edge_models import AlertRoute, Heartbeat, MaintenanceWindow, RotationKey
from bot.db.models import (
    CoverRequest,
    Incident,
    Notice,
    RosterVersion,
    Rotation,
    RotationMember,
    RotationOverride,
    RotationSwap,
    RotationUserGroup,
)
from bot.db.schedule_models import EscalationPolicy, PersonHolidays, RotationLayer, ShiftChange


def all_members(*, session: Session) -> dict[int, list[RotationMember]]:
    """Every rotation's roster, in order."""
    found: dict[int, list[RotationMember]] = {}
    for row in session.exec(select(RotationMember).order_by(col(RotationMember.rotation_id),
                                                            col(RotationMember.position), col(RotationMember.id))):
        found.setdefault(row.rotation_id, []).append(row)
    return found


def all_policies(*, session: Session) -> dict[int, dict[str, str]]:
    """Every rotation's stored policies (JSON) by priority."""
    found: dict[int, dict[str, str]] = {}
    for row in session.exec(select(EscalationPolicy).order_by(col(EscalationPolicy.rotation_id),
                                                              col(EscalationPolicy.priority))):
        found.setdefault(row.rotation_id, {})[row.priority] = row.policy
    return found


def all_calendars(*, session: Session) -> dict[str, str]:
    """Each person's chosen holiday calendar (`me holidays`), by Slack id."""
    return dict(session.exec(select(PersonHolidays.user_id, PersonHolidays.calendar)
                             .order_by(col(PersonHolidays.user_id))).all())


def verified_emails(*, session: Session, user_ids: list[str]) -> dict[str, str]:
    """The email address each of these people proved they read (a verified `email` contact method)."""
    if not user_ids:
        return {}
    return dict(session.exec(select(ContactMethod.user_id, ContactMethod.address).where(
        ContactMethod.kind == "email", col(ContactMethod.verified_at).is_not(None),
        col(ContactMethod.user_id).in_(user_ids))).all())


def users_by_email(*, session: Session, emails: list[str]) -> dict[str, list[str]]:
    """Who verified each of these addresses (lowercase), as Slack ids: more than one is ambiguous."""
    if not emails:
        return {}
    found: dict[str, list[str]] = {}
    for user, address in session.exec(select(ContactMethod.user_id, ContactMethod.address).where(
            ContactMethod.kind == "email", col(ContactMethod.verified_at).is_not(None),
            sa.func.lower(ContactMethod.address).in_([e.lower() for e in emails])).order_by(
            col(ContactMethod.user_id))).all():
        found.setdefault(address.lower(), []).append(user)
    return found


def rotation_uses(*, session: Session, rotation_id: int) -> dict[str, int]:
    """What refers to a rotation and must not be removed with it: its incidents, heartbeats and maintenance."""
    def count(model, column) -> int:
        return session.exec(select(sa.func.count()).select_from(model).where(column == rotation_id)).one()
    found = {"incidents": count(Incident, col(Incident.rotation_id)),
             "heartbeats": count(Heartbeat, col(Heartbeat.rotation_id)),
             "maintenance windows": count(MaintenanceWindow, col(MaintenanceWindow.rotation_id))}
    return {what: n for what, n in found.items() if n}


def remove_rotation(*, session: Session, rotation_id: int) -> None:
    """A rotation and what only it had (roster and its history, overrides, swaps, cover requests, policies, shift
    changes, layers, routing key, routes, its user group binding, its handoff notices); the caller checked
    `rotation_uses`. (Incident types naming it are changed or removed by the caller first.)"""
    for model in (CoverRequest, RotationOverride, RotationSwap, RotationMember, RosterVersion, EscalationPolicy,
                  ShiftChange, RotationLayer, RotationKey, AlertRoute, RotationUserGroup, Notice):
        session.exec(sa.delete(model).where(model.rotation_id == rotation_id))
    session.exec(sa.delete(Rotation).where(col(Rotation.id) == rotation_id))


def remove_rows(*, session: Session, model, ids: list[int]) -> None:
    if ids:
        session.exec(sa.delete(model).where(col(model.id).in_(ids)))


CONFIG_LOCK = 0x434F4E46  # a PostgreSQL advisory lock of our own ("CONF")


def lock_configuration(*, session: Session) -> None:
    """One apply at a time (the CLI's and the API's), held to the end of the transaction: each plans against what
    the one before it wrote, never against what both read. SQLite: a write to the schema's version row takes the
    database's write lock (no-op in value)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": CONFIG_LOCK})
    else:
        session.execute(sa.text("UPDATE alembic_version SET version_num = version_num"))
