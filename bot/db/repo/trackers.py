"""Issue trackers: incidents' and follow-ups' issues, issues closed with no incident, each tracker's state."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.db.columns import UTCDateTime
from bot.db.edge_models import FollowUpIssue, TrackerIssue, TrackerState
from bot.db.models import FollowUp, HandledRequest, Incident


def tracker_issue(*, session: Session, incident_id: int, tracker: str) -> TrackerIssue | None:
    return session.exec(select(TrackerIssue).where(TrackerIssue.incident_id == incident_id,
                                                   TrackerIssue.tracker == tracker)).first()


def tracker_issues_of(*, session: Session, incident_id: int) -> list[TrackerIssue]:
    return list(session.exec(select(TrackerIssue).where(TrackerIssue.incident_id == incident_id)
                             .order_by(TrackerIssue.tracker)))


def incident_of_issue(*, session: Session, tracker: str,
                      issue_id: str) -> tuple[Incident, TrackerIssue] | tuple[None, None]:
    found = session.exec(select(Incident, TrackerIssue).join(TrackerIssue, TrackerIssue.incident_id == Incident.id)
                         .where(TrackerIssue.tracker == tracker, TrackerIssue.issue_id == issue_id)).first()
    return (found[0], found[1]) if found else (None, None)


def issue_seen(*, session: Session, tracker: str, issue_id: str, at: datetime) -> None:
    """The issue's time in an event just applied, unless a newer one was applied first."""
    table = TrackerIssue.__table__
    session.execute(sa.update(table).where(
        table.c.tracker == tracker, table.c.issue_id == issue_id,
        sa.or_(table.c.seen_at.is_(None), table.c.seen_at < sa.bindparam("b_at", type_=UTCDateTime())))
        .values(seen_at=sa.bindparam("b_at")), {"b_at": at})


def _closed_key(tracker: str, issue_id: str) -> str:
    return f"{tracker}:closed-unlinked:{issue_id}"


def closed_unlinked(*, session: Session, tracker: str, issue_id: str) -> datetime | None:
    """When an issue in the queue but without an incident was last seen closed (by its own time)."""
    row = session.get(HandledRequest, _closed_key(tracker, issue_id))
    return row.at if row else None


def note_closed_unlinked(*, session: Session, tracker: str, issue_id: str, at: datetime) -> None:
    row = session.get(HandledRequest, _closed_key(tracker, issue_id))
    if row is None:
        try:
            with session.begin_nested():  # the same event delivered twice at once: one row
                session.add(HandledRequest(key=_closed_key(tracker, issue_id), kind="issue closed", at=at))
        except sa.exc.IntegrityError:
            pass
    elif row.at < at:
        row.at = at


def link_issue(*, session: Session, incident_id: int, tracker: str, issue_id: str, number: int, url: str,
               opened_there: bool, now: datetime, seen_at: datetime | None = None) -> None:
    session.add(TrackerIssue(incident_id=incident_id, tracker=tracker, issue_id=issue_id, number=number, url=url,
                             opened_there=opened_there, created_at=now, seen_at=seen_at))


def follow_up_issue(*, session: Session, follow_up_id: int, tracker: str) -> FollowUpIssue | None:
    return session.exec(select(FollowUpIssue).where(FollowUpIssue.follow_up_id == follow_up_id,
                                                    FollowUpIssue.tracker == tracker)).first()


def follow_up_of_issue(*, session: Session, tracker: str,
                       issue_id: str) -> tuple[FollowUp, FollowUpIssue] | tuple[None, None]:
    found = session.exec(select(FollowUp, FollowUpIssue).join(FollowUpIssue, FollowUpIssue.follow_up_id == FollowUp.id)
                         .where(FollowUpIssue.tracker == tracker, FollowUpIssue.issue_id == issue_id)).first()
    return (found[0], found[1]) if found else (None, None)


def link_follow_up_issue(*, session: Session, follow_up_id: int, tracker: str, issue_id: str, number: int,
                         url: str, now: datetime, seen_at: datetime | None = None) -> None:
    session.add(FollowUpIssue(follow_up_id=follow_up_id, tracker=tracker, issue_id=issue_id, number=number,
                              url=url, created_at=now, seen_at=seen_at))


def follow_up_issue_seen(*, session: Session, tracker: str, issue_id: str, at: datetime) -> None:
    table = FollowUpIssue.__table__
    session.execute(sa.update(table).where(
        table.c.tracker == tracker, table.c.issue_id == issue_id,
        sa.or_(table.c.seen_at.is_(None), table.c.seen_at < at)).values(seen_at=at))


def tracker_states(*, session: Session) -> dict[str, TrackerState]:
    return {state.tracker: state for state in session.exec(select(TrackerState))}


def note_tracker(*, session: Session, tracker: str, now: datetime | None = None, error: str | None = None,
                 login: str | None = None) -> None:
    """What a tracker last said: `error` a refusal for good ("" when a call went through again); `login` who the
    bot is there."""
    state = session.get(TrackerState, tracker)
    if state is None:
        try:
            with session.begin_nested():  # another process may add it at the same moment: then it is there
                session.add(TrackerState(tracker=tracker, error=""))
        except sa.exc.IntegrityError:
            pass
        state = session.get(TrackerState, tracker)
    if login is not None and state.login != login:
        state.login = login
    if error:
        state.error, state.error_at = error[:300], now
    elif error is not None and state.error:  # working again: said once, not written on every call
        state.error, state.ok_at = "", now
