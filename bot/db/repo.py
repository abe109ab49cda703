"""Every query the app makes. Keyword-only functions that take a session; only this package imports `select`."""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import cache, partial
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from bot.db.columns import UTCDateTime
from bot.db.edge_models import (
    AlertStorm,
    FollowUpIssue,
    Heartbeat,
    PersonFeed,
    StormAlert,
    TrackerIssue,
    TrackerState,
    WebSession,
)
from bot.db.models import (
    RECHECK,
    BotUserGroup,
    ChannelMessage,
    CoverRequest,
    Delivery,
    FollowUp,
    HandledRequest,
    Incident,
    IncidentResponder,
    Notice,
    Page,
    Person,
    RosterVersion,
    Rotation,
    RotationMember,
    RotationOverride,
    RotationSwap,
    RotationUserGroup,
    TimelineEvent,
)

OPEN_STATUS_VALUES = ("new", "triaged", "in_progress", "blocked")

# Hot writes (every delivery, every set-up step) go as Core statements on the tables, built once with their values
# as parameters: the ORM's bulk-update path (synchronising session objects these short sessions never read again)
# and building the statement anew each time cost more than the round trip.
_INCIDENTS = Incident.__table__
_OUTBOX = Delivery.__table__


@cache
def _updating(table: sa.Table, columns: frozenset[str], held: bool = False) -> sa.Update:
    """UPDATE `table` SET each of `columns` to the parameter of its name WHERE id = :b_id — and, `held`, the row is
    a delivery still queued and claimed with :b_token (the fence of every write under a claim). One statement per
    set of columns (a handful in all)."""
    where = [table.c.id == sa.bindparam("b_id")]
    if held:
        where += [table.c.state == "queued", table.c.claim_token == sa.bindparam("b_token")]
    return sa.update(table).where(*where).values({name: sa.bindparam(name, type_=table.c[name].type)
                                                  for name in columns})


def _held_write(session: Session, delivery_id: int, token: str, **values) -> bool:
    result = session.execute(_updating(_OUTBOX, frozenset(values), held=True),
                             {"b_id": delivery_id, "b_token": token, **values})
    return result.rowcount == 1


T = TypeVar("T")
log = logging.getLogger(__name__)
INCIDENT_NUMBER_LOCK = 0x46495245  # a PostgreSQL advisory lock of our own ("FIRE")
DATABASE_THREADS = 8  # PostgreSQL: statements of different requests wait on the network side by side


class Database:
    """Hands out sessions whose objects stay readable after commit (they outlive the request), and runs database
    work in threads of its own so the event loop keeps answering Slack while a statement waits: `run` for work a
    request waits on, `run_background` for the rest (deliveries, the tick), which gives way to it.

    SQLite gets one such thread: it takes one writer at a time anyway, and one thread never meets its own lock.
    """

    def __init__(self, engine: Engine, threads: int | None = None) -> None:
        self.engine = engine
        # Reads that write nothing go without a transaction: on PostgreSQL a BEGIN and a ROLLBACK are a round trip
        # each, as dear as the reads themselves. (Each statement reads what was committed when it began — as in a
        # transaction at READ COMMITTED, PostgreSQL's default; what must not change between reads takes a lock.)
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        if threads is None:
            threads = 1 if engine.dialect.name == "sqlite" else DATABASE_THREADS
        self._threads = PriorityThreads(threads)
        self._group: GroupCommit | None = None

    async def run(self, work: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return await asyncio.wrap_future(self._threads.submit(0, partial(_reconnecting, work, *args, **kwargs)))

    async def run_background(self, work: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return await asyncio.wrap_future(self._threads.submit(1, partial(_reconnecting, work, *args, **kwargs)))

    async def queue_before_ack(self, row: dict) -> None:
        """A delivery row (`delivery_row`) committed before this returns, written together with the rows of the
        requests arriving meanwhile (group commit: a burst pays one commit per batch, not one per request)."""
        if self._group is None:
            self._group = GroupCommit(self, lambda rows: queue_together(engine=self.engine, rows=rows))
        await self._group.add(row)

    def close(self) -> None:
        self._threads.shutdown()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only, outside any transaction (see `_reads`)."""
        with Session(self._reads, expire_on_commit=False) as session:
            yield session


def _reconnecting(work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A connection the database dropped (a restart, an idle timeout) fails the work that met it, and the pool
    lets go of it: the work, rolled back, is tried once more on a fresh connection."""
    try:
        return work(*args, **kwargs)
    except sa.exc.DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        return work(*args, **kwargs)


# PostgreSQL's "try again" answers: a deadlock it broke by rolling this transaction back, a serialization failure.
_TRY_AGAIN = frozenset({"40P01", "40001"})
TRIES_AFTER_DEADLOCK = 3


def try_again(exc: BaseException) -> bool:
    return isinstance(exc, sa.exc.DBAPIError) and getattr(exc.orig, "sqlstate", None) in _TRY_AGAIN


def retry_on_deadlock(work: Callable[..., T], *args: Any) -> T:
    """`work`, one transaction, tried again (a few times) when PostgreSQL rolled it back to break a deadlock. Only
    for work that is one transaction from start to end: what it did before is gone, so it may simply run again."""
    for attempt in range(1, TRIES_AFTER_DEADLOCK + 1):
        try:
            return work(*args)
        except sa.exc.DBAPIError as exc:
            if not try_again(exc) or attempt == TRIES_AFTER_DEADLOCK:
                raise
            log.info("%s rolled back to break a deadlock; trying again", getattr(work, "__qualname__", work))
    raise AssertionError("unreachable")


class GroupCommit:
    """Rows written before an ack, by requests arriving together: while one batch is being written, the rows of the
    requests that arrive meanwhile gather for the next. Each request waits for the commit of its own batch (its row
    is stored before its ack), and an error reaches every request of the batch it failed in."""

    def __init__(self, db: Database, write: Callable[[list[dict]], None], most: int = 500) -> None:
        self.db, self.write, self.most = db, write, most
        self._waiting: list[tuple[dict, asyncio.Future]] = []
        self._writing: asyncio.Task | None = None  # held: the loop keeps only a weak reference to a task

    async def add(self, row: dict) -> None:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((row, done))
        if self._writing is None:
            self._writing = asyncio.get_running_loop().create_task(self._write_batches(), name="group-commit")
        await done

    async def _write_batches(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:self.most], self._waiting[self.most:]
                try:
                    await self.db.run(self.write, [row for row, _ in batch])
                except Exception as exc:
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
        finally:
            self._writing = None


class PriorityThreads:
    """A few threads taking work lowest priority number first, in order within a priority."""

    def __init__(self, threads: int) -> None:
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()
        self._workers = [threading.Thread(target=self._work, name=f"db-{i}", daemon=True) for i in range(threads)]
        for worker in self._workers:
            worker.start()

    def submit(self, priority: int, work: Callable[[], T]) -> Future:
        future: Future = Future()
        self._queue.put((priority, next(self._order), work, future))
        return future

    def shutdown(self) -> None:
        for _ in self._workers:
            self._queue.put((2, next(self._order), None, None))
        for worker in self._workers:
            worker.join()

    def _work(self) -> None:
        while True:
            _, _, work, future = self._queue.get()
            if work is None:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(work())
            except BaseException as exc:  # handed to whoever awaits it
                future.set_exception(exc)


def numbered_last(*, session: Session) -> bool:
    """PostgreSQL: a declaration takes its number at the very end of its transaction, so the lock that orders the
    numbers is held for the last statements only, not the whole declaration. (SQLite has one writer anyway.)"""
    return session.get_bind().dialect.name == "postgresql"


def placeholder_number(*, session: Session) -> tuple[int, int]:
    """(id, number) for an incident whose number comes later: its id drawn now, its number the id negated until
    then (unique, and never a real number)."""
    incident_id = session.execute(sa.text("SELECT nextval(pg_get_serial_sequence('incident', 'id'))")).scalar_one()
    return incident_id, -incident_id


def next_incident_number(*, session: Session) -> int:
    """SQLite: the next number (one writer at a time: nobody takes it meanwhile). PostgreSQL: `take_number`."""
    current = session.exec(select(sa.func.max(Incident.number)).where(col(Incident.number) > 0)).one()
    return (current or 0) + 1


_NUMBER_LOCK = sa.text("SELECT pg_advisory_xact_lock(:key)")
_NUMBERED = _INCIDENTS.alias("numbered")
_TAKE_NUMBER = (sa.update(_INCIDENTS).where(_INCIDENTS.c.id == sa.bindparam("b_id"))
                .values(number=sa.select(sa.func.coalesce(sa.func.max(_NUMBERED.c.number), 0) + 1)
                        .where(_NUMBERED.c.number > 0).scalar_subquery())
                .returning(_INCIDENTS.c.number))


def take_number(*, session: Session, incident: Incident) -> None:
    """PostgreSQL: the incident's real number in place of its placeholder — the next one, under a lock held until
    this transaction ends (declarations side by side, in threads or replicas, take numbers in turn). The lock
    first, in a statement of its own: a statement reads what was committed when it began."""
    session.execute(_NUMBER_LOCK, {"key": INCIDENT_NUMBER_LOCK})
    number = session.execute(_TAKE_NUMBER, {"b_id": incident.id}).scalar_one()
    set_committed_value(incident, "number", number)


def incident_by_number(*, session: Session, number: int) -> Incident | None:
    return session.exec(select(Incident).where(Incident.number == number)).first()


def incident_by_id(*, session: Session, incident_id: int) -> Incident | None:
    return session.get(Incident, incident_id)


def incident_for_change(*, session: Session, number: int | None = None,
                        incident_id: int | None = None) -> Incident | None:
    """The incident, locked until the session ends: concurrent changes to one incident (two replicas, a double
    click, the tick escalating while someone acknowledges) queue up here and each sees what the last one stored.

    PostgreSQL takes a row lock (SELECT … FOR UPDATE); SQLite has no row locks, so a no-op write takes the
    database's write lock before the read (its reads outside a write transaction would see a stale state).
    """
    return _lock(session, Incident,
                 col(Incident.number) == number if number is not None else col(Incident.id) == incident_id)


def incident_by_declare_key(*, session: Session, declare_key: str) -> Incident | None:
    return session.exec(select(Incident).where(Incident.declare_key == declare_key)).first()


def update_incident(*, session: Session, incident_id: int, **values) -> None:
    """These columns only: what else changed meanwhile (a status, a commander) is left as it is."""
    session.execute(_updating(_INCIDENTS, frozenset(values)), {"b_id": incident_id, **values})


def incident_by_channel(*, session: Session, channel_id: str) -> Incident | None:
    return session.exec(select(Incident).where(Incident.channel_id == channel_id)
                        .order_by(col(Incident.number).desc())).first()


def _filtered(query, *, open_only: bool, commander_id: str | None, involving: str | None,
              priority: str | None):
    if commander_id is not None:
        query = query.where(Incident.commander_id == commander_id)
    if involving is not None:
        responding = select(IncidentResponder.incident_id).where(IncidentResponder.user_id == involving)
        query = query.where(sa.or_(Incident.commander_id == involving, col(Incident.id).in_(responding)))
    if priority is not None:
        query = query.where(Incident.priority == priority)
    if open_only:
        query = query.where(col(Incident.status).in_(OPEN_STATUS_VALUES))
    return query


def list_incidents(*, session: Session, open_only: bool, limit: int, commander_id: str | None = None,
                   involving: str | None = None, priority: str | None = None,
                   columns: tuple[str, ...] | None = None) -> list[Incident]:
    """Most urgent first, newest first within a priority. `involving`: commanded by or responded to by.
    `columns`: only these are read, as plain rows with those attributes (a list line needs a few; building whole
    objects was most of a `list`'s cost)."""
    order = (col(Incident.priority), col(Incident.number).desc())
    # The page's ids first, from the (status, priority, number) index alone; then only those rows are read.
    # Sorting whole rows read one by one cost six times as much with a thousand open.
    page = _filtered(select(Incident.id), open_only=open_only, commander_id=commander_id, involving=involving,
                     priority=priority).order_by(*order).limit(limit)
    chosen = select(*(getattr(Incident, c) for c in columns)) if columns else select(Incident)
    return list(session.exec(chosen.where(col(Incident.id).in_(page)).order_by(*order)))


def count_incidents(*, session: Session, open_only: bool, commander_id: str | None = None,
                    involving: str | None = None, priority: str | None = None) -> int:
    query = _filtered(select(sa.func.count()).select_from(Incident), open_only=open_only,
                      commander_id=commander_id, involving=involving, priority=priority)
    return session.exec(query).one()


def incidents_declared_since(*, session: Session, since: datetime) -> list[Incident]:
    return list(session.exec(select(Incident).where(col(Incident.created_at) >= since)))


def triaged_times(*, session: Session, declared_since: datetime) -> dict[int, datetime]:
    """When each incident declared since then first left `new` (its first status change: statuses only move
    forward)."""
    rows = session.execute(sa.select(TimelineEvent.incident_id, sa.func.min(TimelineEvent.at))
                           .join(Incident, col(Incident.id) == col(TimelineEvent.incident_id))
                           .where(col(Incident.created_at) >= declared_since,
                                  col(TimelineEvent.kind).in_(("status", "resolved", "closed", "duplicate")))
                           .group_by(TimelineEvent.incident_id)).all()
    return {incident_id: at.replace(tzinfo=UTC) if at.tzinfo is None else at for incident_id, at in rows}


def pages_per_person(*, session: Session, since: datetime) -> list[tuple[str, int]]:
    """Pages sent to each person since then (every rotation)."""
    rows = session.execute(sa.select(Page.target_user_id, sa.func.count()).where(
        col(Page.target_user_id).is_not(None), col(Page.sent_at) >= since).group_by(Page.target_user_id)).all()
    return [(user, count) for user, count in rows]


def add_event(*, session: Session, incident_id: int, at: datetime, actor_id: str | None, kind: str,
              text: str = "", request_key: str | None = None) -> TimelineEvent:
    event = TimelineEvent(incident_id=incident_id, at=at, actor_id=actor_id, kind=kind, text=text,
                          request_key=request_key)
    session.add(event)
    return event


def events_for(*, session: Session, incident_id: int) -> list[TimelineEvent]:
    return list(session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
                             .order_by(col(TimelineEvent.at), col(TimelineEvent.id))))


def event_by_request_key(*, session: Session, request_key: str) -> TimelineEvent | None:
    return session.exec(select(TimelineEvent).where(TimelineEvent.request_key == request_key)).first()


def responder_ids(*, session: Session, incident_id: int) -> list[str]:
    return list(session.exec(select(IncidentResponder.user_id).where(IncidentResponder.incident_id == incident_id)
                             .order_by(col(IncidentResponder.added_at), col(IncidentResponder.id))))


def add_responder(*, session: Session, incident_id: int, user_id: str, at: datetime) -> None:
    session.add(IncidentResponder(incident_id=incident_id, user_id=user_id, added_at=at))


def remove_responder(*, session: Session, incident_id: int, user_id: str) -> None:
    session.exec(sa.delete(IncidentResponder).where(col(IncidentResponder.incident_id) == incident_id,
                                                    col(IncidentResponder.user_id) == user_id))


def rotation_member_ids(*, session: Session, rotation_id: int) -> list[str]:
    return list(session.exec(select(RotationMember.user_id).where(RotationMember.rotation_id == rotation_id)
                             .order_by(col(RotationMember.position), col(RotationMember.id))))


def all_rotations(*, session: Session) -> list[Rotation]:
    return list(session.exec(select(Rotation).order_by(col(Rotation.created_at), col(Rotation.id))))


def rotation_by_id(*, session: Session, rotation_id: int) -> Rotation | None:
    return session.get(Rotation, rotation_id)


def rotation_by_channel(*, session: Session, channel_id: str) -> Rotation | None:
    return session.exec(select(Rotation).where(Rotation.channel_id == channel_id)
                        .order_by(col(Rotation.created_at), col(Rotation.id))).first()


def rotation_of(*, session: Session, incident: Incident) -> Rotation | None:
    return session.get(Rotation, incident.rotation_id) if incident.rotation_id is not None else None


# -- rotations ----------------------------------------------------------------------------------------------

def lock_incident_first(*, session: Session, incident_id: int) -> None:
    """Before writing an incident's pages or events outside `incident_for_change`: take its row lock first, as a
    change does (incident, then its pages), so the two wait for each other instead of deadlocking. SQLite has one
    writer at a time and no row locks: nothing to do."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(Incident.id).where(col(Incident.id) == incident_id).with_for_update())


def _lock(session: Session, model, where):
    """The row, locked until the session ends (see `incident_for_change`)."""
    if session.get_bind().dialect.name == "sqlite":
        session.exec(sa.update(model).where(where).values(id=col(model.id)))
    return session.exec(select(model).where(where).with_for_update()
                        .execution_options(populate_existing=True)).first()


def rotation_for_change(*, session: Session, rotation_id: int) -> Rotation | None:
    """The rotation, locked: two roster changes (two replicas, two people running the same swap) take turns."""
    return _lock(session, Rotation, col(Rotation.id) == rotation_id)


def overrides_like(*, session: Session, rotation_id: int, user_id: str, role: str, starts_at: datetime,
                   ends_at: datetime) -> int:
    return session.exec(select(sa.func.count()).select_from(RotationOverride).where(
        RotationOverride.rotation_id == rotation_id, RotationOverride.user_id == user_id,
        RotationOverride.role == role, col(RotationOverride.starts_at) == starts_at,
        col(RotationOverride.ends_at) == ends_at)).one()


def overrides_overlapping(*, session: Session, rotation_id: int, role: str, starts_at: datetime,
                          ends_at: datetime) -> list[RotationOverride]:
    """Overrides of `role` on the rotation that share some time with [starts_at, ends_at)."""
    return list(session.exec(select(RotationOverride).where(
        RotationOverride.rotation_id == rotation_id, RotationOverride.role == role,
        col(RotationOverride.starts_at) < ends_at, col(RotationOverride.ends_at) > starts_at)
        .order_by(RotationOverride.starts_at)))


def covers_overlapping(*, session: Session, rotation_id: int, role: str, starts_at: datetime,
                       ends_at: datetime) -> list[CoverRequest]:
    """Open cover requests for `role` on the rotation that share some time with [starts_at, ends_at)."""
    return list(session.exec(select(CoverRequest).where(
        CoverRequest.rotation_id == rotation_id, CoverRequest.role == role, CoverRequest.state == "open",
        col(CoverRequest.starts_at) < ends_at, col(CoverRequest.ends_at) > starts_at)))


def cover_for_change(*, session: Session, cover_id: int) -> CoverRequest | None:
    return _lock(session, CoverRequest, col(CoverRequest.id) == cover_id)


def cover_by_id(*, session: Session, cover_id: int) -> CoverRequest | None:
    return session.get(CoverRequest, cover_id)


def open_covers_of(*, session: Session, user_id: str, limit: int = 10) -> list[CoverRequest]:
    return list(session.exec(select(CoverRequest).where(CoverRequest.requester == user_id,
                                                        CoverRequest.state == "open")
                             .order_by(CoverRequest.starts_at).limit(limit)))


def covers_to_expire(*, session: Session, now: datetime, limit: int = 200) -> list[CoverRequest]:
    """Open requests past their start — or, for one asked once its time had begun (the shift you are in), past
    its end."""
    return list(session.exec(select(CoverRequest).where(
        CoverRequest.state == "open",
        sa.or_(sa.and_(col(CoverRequest.starts_at) > col(CoverRequest.created_at), col(CoverRequest.starts_at) <= now),
               col(CoverRequest.ends_at) <= now)).order_by(CoverRequest.id).limit(limit)))


def expire_cover(*, session: Session, cover_id: int, now: datetime) -> bool:
    """Claimed once: only the process whose UPDATE finds it still open tells the requester."""
    table = CoverRequest.__table__
    result = session.execute(sa.update(table).where(table.c.id == cover_id, table.c.state == "open")
                             .values(state="expired", decided_at=now))
    return result.rowcount == 1


def usergroup_of(*, session: Session, rotation_id: int) -> RotationUserGroup | None:
    return session.get(RotationUserGroup, rotation_id)


def usergroups(*, session: Session) -> list[RotationUserGroup]:
    return list(session.exec(select(RotationUserGroup)))


_USERGROUP_GATE = 0x5553_4752  # the advisory lock every user-group binding takes on PostgreSQL ("USGR")


def lock_usergroup_bindings(*, session: Session) -> None:
    """Bindings of user groups are decided one at a time across processes (is it bound elsewhere? then bind: a
    read-then-write over other rotations' rows). PostgreSQL: an advisory lock held to the commit; SQLite: its one
    write lock, taken now."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_USERGROUP_GATE)))
    else:
        session.execute(sa.update(RotationUserGroup.__table__).where(
            RotationUserGroup.__table__.c.rotation_id == -1).values(rotation_id=-1))


def usergroup_bound_elsewhere(*, session: Session, rotation_id: int, handle: str,
                              group_id: str | None) -> RotationUserGroup | None:
    """Another rotation's binding of this group (by its id, or by its handle)."""
    same = sa.func.lower(RotationUserGroup.handle) == handle.lower()
    if group_id:
        same = sa.or_(same, RotationUserGroup.group_id == group_id)
    return session.exec(select(RotationUserGroup).where(RotationUserGroup.rotation_id != rotation_id, same)
                        .limit(1)).first()


def bot_usergroup(*, session: Session, group_id: str) -> BotUserGroup | None:
    """The user group with this id, if the bot created it."""
    return session.get(BotUserGroup, group_id)


def record_bot_usergroup(*, session: Session, group_id: str, handle: str, rotation_id: int, now: datetime) -> None:
    if session.get(BotUserGroup, group_id) is None:
        session.add(BotUserGroup(group_id=group_id, handle=handle, rotation_id=rotation_id, created_at=now))


def claim_usergroup_change(*, session: Session, rotation_id: int, was: str, now_wanted: str) -> bool:
    """The tick claims one change of a group's membership: only the process whose UPDATE still finds the old
    wanted membership queues it (two replicas ticking at once queue it once)."""
    table = RotationUserGroup.__table__
    result = session.execute(sa.update(table).where(table.c.rotation_id == rotation_id, table.c.wanted == was)
                             .values(wanted=now_wanted))
    return result.rowcount == 1


def swaps_between(*, session: Session, rotation_id: int, shift_index: int, a: str, b: str) -> int:
    """How many stored swaps exchange these two people in this shift (an odd number: they are swapped)."""
    pair = sa.or_(sa.and_(RotationSwap.user_a == a, RotationSwap.user_b == b),
                  sa.and_(RotationSwap.user_a == b, RotationSwap.user_b == a))
    return session.exec(select(sa.func.count()).select_from(RotationSwap).where(
        RotationSwap.rotation_id == rotation_id, RotationSwap.shift_index == shift_index, pair)).one()


# -- requests applied once ----------------------------------------------------------------------------------

def request_handled(*, session: Session, key: str) -> bool:
    return session.get(HandledRequest, key) is not None


def record_request(*, session: Session, key: str, kind: str, at: datetime) -> None:
    """Stored with the change it made; the primary key refuses the same request a second time."""
    session.add(HandledRequest(key=key, kind=kind, at=at))

def rotation_by_name(*, session: Session, name: str) -> Rotation | None:
    return session.exec(select(Rotation).where(sa.func.lower(Rotation.name) == name.lower())).first()


def rotations_of_member(*, session: Session, user_id: str) -> list[Rotation]:
    mine = select(RotationMember.rotation_id).where(RotationMember.user_id == user_id)
    return list(session.exec(select(Rotation).where(col(Rotation.id).in_(mine))
                             .order_by(col(Rotation.created_at), col(Rotation.id))))


def roster(*, session: Session, rotation_id: int) -> list[RotationMember]:
    return list(session.exec(select(RotationMember).where(RotationMember.rotation_id == rotation_id)
                             .order_by(col(RotationMember.position), col(RotationMember.id))))


def record_roster(*, session: Session, rotation_id: int, now: datetime) -> None:
    """The roster as it is now (after the change in this session), kept as a version from `now` on."""
    session.flush()
    members = ",".join(m.user_id for m in roster(session=session, rotation_id=rotation_id))
    session.add(RosterVersion(rotation_id=rotation_id, since=now, members=members))


def roster_versions(*, session: Session, rotation_id: int) -> list[RosterVersion]:
    return list(session.exec(select(RosterVersion).where(RosterVersion.rotation_id == rotation_id)
                             .order_by(col(RosterVersion.since), col(RosterVersion.id))))


def pages_of_rotation(*, session: Session, rotation_id: int, since: datetime, until: datetime) -> list[Page]:
    """Pages to a person about the rotation's incidents, sent in [since, until)."""
    return list(session.exec(select(Page).join(Incident, col(Incident.id) == Page.incident_id).where(
        Incident.rotation_id == rotation_id, col(Page.target_user_id).is_not(None), col(Page.sent_at) >= since,
        col(Page.sent_at) < until)))


def covers_taken_between(*, session: Session, rotation_id: int, since: datetime,
                         until: datetime) -> list[CoverRequest]:
    return list(session.exec(select(CoverRequest).where(
        CoverRequest.rotation_id == rotation_id, CoverRequest.state == "taken",
        col(CoverRequest.starts_at) >= since, col(CoverRequest.starts_at) < until)))


def overrides_for(*, session: Session, rotation_id: int, ending_after: datetime) -> list[RotationOverride]:
    return list(session.exec(select(RotationOverride).where(RotationOverride.rotation_id == rotation_id,
                                                            col(RotationOverride.ends_at) > ending_after)
                             .order_by(col(RotationOverride.id))))


def swaps_for(*, session: Session, rotation_id: int, from_shift: int) -> list[RotationSwap]:
    return list(session.exec(select(RotationSwap).where(RotationSwap.rotation_id == rotation_id,
                                                        col(RotationSwap.shift_index) >= from_shift)
                             .order_by(col(RotationSwap.id))))


# -- pages --------------------------------------------------------------------------------------------------

def pages_of(*, session: Session, incident_id: int, chain: int | None = None) -> list[Page]:
    query = select(Page).where(Page.incident_id == incident_id)
    if chain is not None:
        query = query.where(Page.chain == chain)
    return list(session.exec(query.order_by(col(Page.chain), col(Page.step))))


def live_pages(*, session: Session, incident_id: int) -> list[Page]:
    return list(session.exec(select(Page).where(Page.incident_id == incident_id,
                                                col(Page.state).in_(("queued", "waiting")))))


def page_by_id(*, session: Session, page_id: int) -> Page | None:
    return session.get(Page, page_id)


def last_chain(*, session: Session, incident_id: int) -> int:
    return session.exec(select(sa.func.max(Page.chain)).where(Page.incident_id == incident_id)).one() or 0


def paged_users(*, session: Session, incident_id: int) -> list[str]:
    return [u for u in session.exec(select(Page.target_user_id).where(Page.incident_id == incident_id).distinct())
            if u]


def waiting_pages(*, session: Session, limit: int = 1000) -> list[tuple[Page, Incident]]:
    """Delivered pages nobody has acknowledged yet, with their incidents (for the escalation tick)."""
    query = (select(Page, Incident).join(Incident, col(Incident.id) == col(Page.incident_id))
             .where(Page.state == "waiting").order_by(col(Page.sent_at)).limit(limit))
    return list(session.exec(query))


def overdue_counts(*, session: Session, before: datetime, unanswered_p0: datetime,
                   unanswered_p1: datetime) -> dict[str, int]:
    """What the tick should have done by `before` and has not (bot/services/watch.py): escalations (pages still
    waiting that were sent before `unanswered_p0`/`_p1`: `before` less their timeout), reminders (incidents whose
    next due moment passed, or changed and never looked at again), and deliveries never tried whose lane is not
    held by one Slack keeps refusing."""
    escalations = session.exec(select(sa.func.count()).select_from(Page).join(
        Incident, col(Incident.id) == Page.incident_id).where(Page.state == "waiting", sa.or_(
            sa.and_(Incident.priority == "P0", col(Page.sent_at) < unanswered_p0),
            sa.and_(Incident.priority != "P0", col(Page.sent_at) < unanswered_p1)))).one()
    live = col(Incident.status).in_(OPEN_STATUS_VALUES)
    reminders = session.exec(select(sa.func.count()).select_from(Incident).where(live, sa.or_(
        sa.and_(Incident.next_due_at != RECHECK, col(Incident.next_due_at) < before),
        sa.and_(Incident.next_due_at == RECHECK, col(Incident.updated_at) < before)))).one()
    held = _OUTBOX.alias("held")
    deliveries = session.exec(select(sa.func.count()).select_from(_OUTBOX).where(
        _OUTBOX.c.state == "queued", _OUTBOX.c.attempts == 0, _OUTBOX.c.claimed_at.is_(None),
        _OUTBOX.c.next_attempt_at < before,
        ~sa.exists().where(held.c.lane == _OUTBOX.c.lane, held.c.state == "queued", held.c.attempts > 0))).one()
    return {"escalations": escalations, "reminders": reminders, "deliveries": deliveries}


def claim_escalation(*, session: Session, page_id: int, now: datetime,
                     states: tuple[str, ...] = ("waiting",)) -> bool:
    """Only one tick (or one Escalate click, or Slack's refusal of the page) moves a chain past this page."""
    result = session.exec(sa.update(Page).where(col(Page.id) == page_id, col(Page.state).in_(states))
                          .values(state="done", escalated_at=now))
    return result.rowcount == 1


def stop_pages(*, session: Session, incident_id: int, now: datetime, user_id: str | None,
               chain: int | None = None) -> list[tuple[str | None, str | None]]:
    """Acknowledged (or the incident is over): every page still live is done, in one conditional write — a page
    the tick escalated a moment earlier is not live any more and is left as it is. Returns the (dm_channel, dm_ts)
    of the messages whose buttons go: the stopped pages, and the pages their chains escalated past (those still
    asked for an answer)."""
    query = sa.update(Page).where(col(Page.incident_id) == incident_id, col(Page.state).in_(("queued", "waiting")))
    if chain is not None:
        query = query.where(col(Page.chain) == chain)
    values: dict = {"state": "done"}
    if user_id:
        values.update(acknowledged_at=now, acknowledged_by=user_id)
    stopped = list(session.exec(query.values(**values).returning(col(Page.chain), col(Page.dm_channel),
                                                                 col(Page.dm_ts))))
    chains = {c for c, _, _ in stopped}
    passed = session.exec(select(Page.dm_channel, Page.dm_ts).where(
        col(Page.incident_id) == incident_id, col(Page.chain).in_(chains), col(Page.escalated_at).is_not(None),
        col(Page.dm_ts).is_not(None))) if chains else []
    return [(channel, ts) for _, channel, ts in stopped] + [(channel, ts) for channel, ts in passed]


def page_outcome(*, session: Session, page_id: int, **values) -> bool:
    """A page's delivery recorded only while it is still queued: one acknowledged (or stopped) while it was on its
    way to Slack stays as the acknowledgement left it."""
    pages = Page.__table__
    result = session.execute(sa.update(pages).where(pages.c.id == page_id, pages.c.state == "queued").values(**values))
    return result.rowcount == 1


def page_sent_anyway(*, session: Session, page_id: int, sent_at: datetime, dm_channel: str, dm_ts: str) -> None:
    """A page that went out after it was stopped: where its message is, so that it is known (and its buttons
    taken away), its state left as the acknowledgement set it."""
    session.exec(sa.update(Page).where(col(Page.id) == page_id, col(Page.dm_ts).is_(None))
                 .values(sent_at=sent_at, dm_channel=dm_channel, dm_ts=dm_ts))


# -- people -------------------------------------------------------------------------------------------------

def people(*, session: Session, user_ids: list[str]) -> dict[str, Person]:
    if not user_ids:
        return {}
    return {p.user_id: p for p in session.exec(select(Person).where(col(Person.user_id).in_(user_ids)))}


def save_person(*, session: Session, user_id: str, tz: str | None, now: datetime, keep_tz: bool = False,
                name: str | None = None, avatar: str | None = None) -> None:
    """`keep_tz`: Slack would not say; the zone (and name) known so far stays, only the time of asking moves on."""
    person = session.get(Person, user_id)
    if person is None:
        session.add(Person(user_id=user_id, tz=tz, fetched_at=now, name=name, avatar=avatar))
        moved = tz is not None
    else:
        person.fetched_at = now
        if not keep_tz:
            person.name, person.avatar = name or person.name, avatar or person.avatar
        moved = not keep_tz and person.tz != tz
        if moved:
            person.tz = tz
    if moved:  # their "heading home?" hour moved: their incidents' next due moments are worked out again
        recheck_reminders(session=session, commanded_by=[user_id])


def people_to_refresh(*, session: Session, fetched_before: datetime, limit: int,
                      active_since: datetime | None = None) -> list[str]:
    """Roster members, and the commanders of open incidents (their business hours) — and with `active_since`, the
    reporters, commanders and responders of incidents changed since then (the board shows them by name) — whose
    Slack facts are unknown or older than a day."""
    known_fresh = select(Person.user_id).where(col(Person.fetched_at) >= fetched_before)
    members = select(RotationMember.user_id.label("user_id"))
    recent = col(Incident.status).in_(OPEN_STATUS_VALUES)
    if active_since is not None:
        recent = sa.or_(recent, col(Incident.updated_at) >= active_since)
    commanders = select(col(Incident.commander_id).label("user_id")).where(
        col(Incident.commander_id).is_not(None), recent)
    parts = [members, commanders]
    if active_since is not None:
        parts.append(select(col(Incident.reporter_id).label("user_id")).where(
            col(Incident.reporter_id).like("U%"), recent))
        parts.append(select(col(IncidentResponder.user_id).label("user_id")).join(
            Incident, col(Incident.id) == col(IncidentResponder.incident_id)).where(recent))
    everyone = sa.union(*parts).subquery()
    return list(session.exec(select(everyone.c.user_id).where(everyone.c.user_id.not_in(known_fresh))
                             .limit(limit)))


# -- reminders and handoffs ---------------------------------------------------------------------------------

_FACTS = (Incident.id, Incident.priority, Incident.status, Incident.created_at, Incident.last_update_at,
          Incident.p0_since, Incident.commander_id, Incident.rotation_id)


def reminder_facts(*, session: Session, incident_id: int | None = None) -> list:
    """The few columns reminders need, for open P0s and P1s (rows, not objects: cheap at a thousand)."""
    query = select(*_FACTS).where(col(Incident.status).in_(OPEN_STATUS_VALUES),
                                  col(Incident.priority).in_(("P0", "P1")))
    if incident_id is not None:
        query = query.where(Incident.id == incident_id)
    return list(session.exec(query))


def facts_due(*, session: Session, now: datetime, limit: int = 5000) -> list:
    """The same columns for every incident whose next due moment has come (or that changed since it was worked
    out), whatever its status: the tick settles each one."""
    due = list(session.exec(select(*_FACTS).where(col(Incident.next_due_at) <= now)
                            .order_by(col(Incident.next_due_at)).limit(limit)))
    # NULL: written by a version from before the column (a replica not yet rolled): worked out like a change. A
    # query of its own: with an OR, SQLite's plan read the index whole.
    return due + list(session.exec(select(*_FACTS).where(col(Incident.next_due_at).is_(None))
                                   .limit(max(limit - len(due), 0))))


_SEEN = (("priority", sa.String), ("status", sa.String), ("commander_id", sa.String),
         ("last_update_at", UTCDateTime), ("p0_since", UTCDateTime))
_SET_NEXT_DUE = (sa.update(Incident.__table__)
                 .where(Incident.__table__.c.id == sa.bindparam("b_id"),
                        *(Incident.__table__.c[name].is_not_distinct_from(sa.bindparam(f"b_{name}", type_=kind()))
                          for name, kind in _SEEN))
                 .values(next_due_at=sa.bindparam("b_next", type_=UTCDateTime())))


def set_next_due(*, session: Session, moments: list[tuple[Any, datetime]]) -> None:
    """(facts row, next due moment) — written only where the row still has the facts it was worked out from: a
    change meanwhile has put it back to RECHECK, and it stays so."""
    if moments:
        session.execute(_SET_NEXT_DUE, [{"b_id": row.id, "b_next": moment,
                                         **{f"b_{name}": getattr(row, name) for name, _ in _SEEN}}
                                        for row, moment in moments])


def recheck_reminders(*, session: Session, commanded_by: list[str] | None = None) -> None:
    """Open P0/P1s (commanded by these people) are worked out again at the next tick: the policy or someone's
    timezone changed."""
    query = sa.update(Incident).where(col(Incident.status).in_(OPEN_STATUS_VALUES),
                                      col(Incident.priority).in_(("P0", "P1")))
    if commanded_by is not None:
        query = query.where(col(Incident.commander_id).in_(commanded_by))
    session.exec(query.values(next_due_at=RECHECK))


def existing_notices(*, session: Session, keys: list[str]) -> dict[str, str]:
    """key → state of the notices already stored among `keys`."""
    found: dict[str, str] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        found.update((key, state) for key, state in
                     session.exec(select(Notice.key, Notice.state).where(col(Notice.key).in_(chunk))))
    return found


def settle_notice(*, session: Session, key: str, now: datetime) -> bool:
    """A queued notice becomes sent (its messages owed) — once, whoever else tries at the same moment."""
    result = session.exec(sa.update(Notice).where(Notice.key == key, Notice.state == "queued")
                          .values(state="sent", sent_at=now))
    return result.rowcount == 1


def open_incidents_of_rotation(*, session: Session, rotation_id: int, limit: int = 200) -> list[Incident]:
    return list(session.exec(select(Incident).where(Incident.rotation_id == rotation_id,
                                                    col(Incident.status).in_(OPEN_STATUS_VALUES))
                             .order_by(col(Incident.priority), col(Incident.number)).limit(limit)))


def incidents_of_rotation_between(*, session: Session, rotation_id: int, since: datetime,
                                  until: datetime) -> list[Incident]:
    """Declared or resolved in the range (for a shift's numbers)."""
    return list(session.exec(select(Incident).where(Incident.rotation_id == rotation_id, sa.or_(
        sa.and_(col(Incident.created_at) >= since, col(Incident.created_at) < until),
        sa.and_(col(Incident.resolved_at) >= since, col(Incident.resolved_at) < until)))))


def reminders_sent_between(*, session: Session, rotation_id: int, kinds: tuple[str, ...], since: datetime,
                           until: datetime) -> int:
    mine = select(Incident.id).where(Incident.rotation_id == rotation_id)
    return session.exec(select(sa.func.count()).select_from(Notice).where(
        col(Notice.incident_id).in_(mine), col(Notice.kind).in_(kinds), Notice.state == "sent",
        col(Notice.sent_at) >= since, col(Notice.sent_at) < until)).one()


def latest_update(*, session: Session, incident_id: int) -> TimelineEvent | None:
    return session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id,
                                                    TimelineEvent.kind == "update")
                        .order_by(col(TimelineEvent.at).desc(), col(TimelineEvent.id).desc())).first()


# -- alerts -------------------------------------------------------------------------------------------------

def fingerprint_state(*, session: Session, fingerprint: str) -> tuple[Incident | None, int]:
    """(the newest open incident of this alert, how many it has had) — both from one statement, so from one
    committed state: read in two, an incident declared in between was missed by the first and counted by the
    second, and a second incident was declared for the same alert."""
    table = Incident.__table__
    is_open = table.c.status.in_(OPEN_STATUS_VALUES)
    count, number = session.execute(
        sa.select(sa.func.count(), sa.func.max(sa.case((is_open, table.c.number))))
        .where(table.c.alert_fingerprint == fingerprint)).one()
    return (incident_by_number(session=session, number=number) if number is not None else None), count



ALERT_SOURCES = ("generic", "alertmanager", "gitlab")  # what counts towards a storm (not people, trackers, silences)
_ALERT_GATE = 0x5F0A1E27  # the advisory lock every alert opening takes on PostgreSQL


def lock_alert_openings(*, session: Session) -> None:
    """First in its transaction: alerts that would open an incident are decided one at a time, across processes
    (counting the incidents opened in the window and opening one is a read-then-write). PostgreSQL: an advisory
    lock held to the commit; SQLite: its one write lock, taken now."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_ALERT_GATE)))
    else:
        session.execute(sa.update(AlertStorm.__table__).where(AlertStorm.__table__.c.id == -1).values(id=-1))


def alert_openings_since(*, session: Session, since: datetime) -> int:
    """Incidents opened from alerts since then, each alert that joined a storm instead counted too."""
    incidents = session.execute(sa.select(sa.func.count()).select_from(_INCIDENTS).where(
        _INCIDENTS.c.source.in_(ALERT_SOURCES), _INCIDENTS.c.created_at >= since)).scalar_one()
    joined = session.execute(sa.select(sa.func.count()).select_from(StormAlert.__table__).where(
        StormAlert.__table__.c.first_at >= since)).scalar_one()
    return incidents + joined


def active_storm(*, session: Session, since: datetime) -> AlertStorm | None:
    """The storm alerts join now: not over, an alert joined it since `since`, its incident not closed or marked a
    duplicate (a resolved one is reopened by the next alert: the storm goes on)."""
    return session.exec(select(AlertStorm).join(Incident, col(Incident.id) == col(AlertStorm.incident_id)).where(
        col(AlertStorm.ended_at).is_(None), col(AlertStorm.last_alert_at) >= since,
        col(Incident.status).in_((*OPEN_STATUS_VALUES, "resolved"))).order_by(col(AlertStorm.id).desc())).first()


def storm_alert_of(*, session: Session, fingerprint: str) -> tuple[StormAlert, AlertStorm] | None:
    """The alert in a storm it still belongs to: one whose incident is open, or that is not over."""
    row = session.exec(select(StormAlert, AlertStorm).join(AlertStorm, col(AlertStorm.id) == col(StormAlert.storm_id))
                       .join(Incident, col(Incident.id) == col(AlertStorm.incident_id))
                       .where(col(StormAlert.fingerprint) == fingerprint,
                              sa.or_(col(Incident.status).in_(OPEN_STATUS_VALUES),
                                     sa.and_(col(AlertStorm.ended_at).is_(None), Incident.status == "resolved")))
                       .order_by(col(StormAlert.id).desc())).first()
    return (row[0], row[1]) if row else None


def storm_of_incident(*, session: Session, incident_id: int) -> AlertStorm | None:
    return session.exec(select(AlertStorm).where(AlertStorm.incident_id == incident_id)).first()


def storm_for_change(*, session: Session, incident_id: int, storm_id: int) -> AlertStorm | None:
    """The storm locked, after its incident: every change to a storm takes the incident's row, then the storm's,
    then its alerts' (a change of the incident and the storm's news never wait for each other in a circle)."""
    lock_incident_first(session=session, incident_id=incident_id)
    return _lock(session, AlertStorm, col(AlertStorm.id) == storm_id)


def storm_alert_for_change(*, session: Session, storm_alert_id: int) -> StormAlert | None:
    return _lock(session, StormAlert, col(StormAlert.id) == storm_alert_id)


def storm_alert_seen(*, session: Session, storm_alert_id: int, firing: bool, now: datetime,
                     started: str | None = None, counted: bool = True) -> None:
    """`counted`: a firing that is a new one (not the same `startsAt` told again) counts up `times`."""
    table = StormAlert.__table__
    values: dict[str, Any] = {"state": "firing" if firing else "resolved", "last_at": now}
    if firing and counted:
        values["times"] = table.c.times + 1
    if firing and started:
        values["started_at"] = started
    session.execute(sa.update(table).where(table.c.id == storm_alert_id).values(**values))


def storm_joined(*, session: Session, storm_id: int, now: datetime) -> None:
    table = AlertStorm.__table__
    session.execute(sa.update(table).where(table.c.id == storm_id).values(last_alert_at=now))


def owe_storm_news(*, session: Session, storm_id: int) -> bool:
    """True for the one change that found no news owed (it queues the message; the others ride along)."""
    table = AlertStorm.__table__
    return session.execute(sa.update(table).where(table.c.id == storm_id, table.c.news_owed.is_(False))
                           .values(news_owed=True)).rowcount == 1


def storm_news(*, session: Session, storm_id: int, limit: int) -> list[StormAlert]:
    """Alerts whose state the storm's channel has not heard yet, oldest first."""
    return list(session.exec(select(StormAlert).where(StormAlert.storm_id == storm_id,
                                                      col(StormAlert.state) != col(StormAlert.told))
                             .order_by(col(StormAlert.id)).limit(limit)))


def storm_told(*, session: Session, told: list[tuple[int, str]]) -> None:
    """Each alert marked as heard in the state it was listed in (one that changed since stays news)."""
    table = StormAlert.__table__
    for alert_id, state in told:
        session.execute(sa.update(table).where(table.c.id == alert_id, table.c.state == state).values(told=state))


def storm_news_dropped(*, session: Session, storm_id: int, told: list[tuple[int, str]]) -> None:
    """The news could not be posted: what it held counts as told (the web page still lists it), none owed."""
    storm_told(session=session, told=told)
    session.execute(sa.update(AlertStorm.__table__).where(AlertStorm.__table__.c.id == storm_id)
                    .values(news_owed=False))


def storm_counts(*, session: Session, storm_id: int) -> dict[str, int]:
    table = StormAlert.__table__
    rows = session.execute(sa.select(table.c.state, sa.func.count()).where(table.c.storm_id == storm_id)
                           .group_by(table.c.state)).all()
    return {state: count for state, count in rows}


def storm_alerts(*, session: Session, storm_id: int, limit: int = 5000) -> list[StormAlert]:
    return list(session.exec(select(StormAlert).where(StormAlert.storm_id == storm_id)
                             .order_by(col(StormAlert.id)).limit(limit)))


def quiet_storms(*, session: Session, before: datetime, limit: int = 100) -> list[AlertStorm]:
    return list(session.exec(select(AlertStorm).where(col(AlertStorm.ended_at).is_(None),
                                                      col(AlertStorm.last_alert_at) < before).limit(limit)))


def end_storm(*, session: Session, storm_id: int, before: datetime, now: datetime) -> bool:
    """Claimed once: True for the one tick that saw this storm's window pass quietly."""
    table = AlertStorm.__table__
    return session.execute(sa.update(table).where(table.c.id == storm_id, table.c.ended_at.is_(None),
                                                  table.c.last_alert_at < before).values(ended_at=now)).rowcount == 1


# -- heartbeats ---------------------------------------------------------------------------------------------

def heartbeat_by_name(*, session: Session, name: str) -> Heartbeat | None:
    return session.exec(select(Heartbeat).where(Heartbeat.name == name)).first()


def heartbeat_for_change(*, session: Session, name: str) -> Heartbeat | None:
    return _lock(session, Heartbeat, col(Heartbeat.name) == name)


def heartbeats(*, session: Session) -> list[Heartbeat]:
    return list(session.exec(select(Heartbeat).order_by(col(Heartbeat.name))))


def silent_heartbeats(*, session: Session, before: datetime, limit: int = 100) -> list[Heartbeat]:
    """Silent past their interval (`silent_after`) before `before`, with no incident yet for this silence."""
    return list(session.exec(select(Heartbeat).where(col(Heartbeat.silent_after) < before,
                                                     col(Heartbeat.incident_id).is_(None))
                             .order_by(col(Heartbeat.silent_after)).limit(limit)))


def attach_silence(*, session: Session, heartbeat_id: int, silent_after: datetime, incident_id: int) -> bool:
    """The incident declared for this silence, kept unless a beat came meanwhile (then False: it is over)."""
    table = Heartbeat.__table__
    return session.execute(sa.update(table).where(table.c.id == heartbeat_id, table.c.silent_after == silent_after,
                                                  table.c.incident_id.is_(None))
                           .values(incident_id=incident_id, silence_of=silent_after)).rowcount == 1


def beating_again(*, session: Session, limit: int = 100) -> list[Heartbeat]:
    """Heartbeats that beat since the silence their incident was declared for (its resolution still owed)."""
    return list(session.exec(select(Heartbeat).where(col(Heartbeat.incident_id).is_not(None),
                                                     col(Heartbeat.silent_after) != col(Heartbeat.silence_of))
                             .limit(limit)))


def silence_over(*, session: Session, heartbeat_id: int, incident_id: int) -> None:
    table = Heartbeat.__table__
    session.execute(sa.update(table).where(table.c.id == heartbeat_id, table.c.incident_id == incident_id)
                    .values(incident_id=None, silence_of=None))


# -- deliveries (the outbox) -------------------------------------------------------------------------------

def queue_delivery(*, session: Session, lane: str, kind: str, incident_id: int | None, payload: str,
                   now: datetime) -> None:
    session.add(Delivery(lane=lane, kind=kind, incident_id=incident_id, payload=payload, created_at=now,
                         next_attempt_at=now))


_QUEUE_DELIVERY = sa.insert(Delivery.__table__)  # one statement, compiled once: values come as parameters


def delivery_row(*, lane: str, kind: str, payload: str, now: datetime) -> dict:
    return {"lane": lane, "kind": kind, "incident_id": None, "payload": payload, "state": "queued", "attempts": 0,
            "created_at": now, "next_attempt_at": now, "last_error": ""}


def queue_together(*, engine: Engine, rows: list[dict]) -> None:
    """Deliveries written on the ack path (clicks, declarations) by requests that arrived together: one INSERT of
    them all in one transaction, on a connection rather than a Session (the ORM's unit of work would cost more than
    the statement)."""
    with engine.begin() as connection:
        connection.execute(_QUEUE_DELIVERY, rows)


def become_setup(*, session: Session, delivery_id: int, token: str, kind: str, lane: str, incident_id: int) -> bool:
    """A claimed stored declaration turned, in its declaration's own transaction, into the incident's set-up: the
    same row goes on as that delivery, first in the incident's lane. Only while the claim is still ours."""
    return _held_write(session, delivery_id, token, kind=kind, lane=lane, incident_id=incident_id)


def pages_first_in_lane(*, session: Session, incident_id: int) -> list[Delivery]:
    """The incident's queued pages that nothing queued earlier in their lane waits before (sending one of those
    ahead would break its lane's order)."""
    earlier = sa.alias(Delivery.__table__)
    return list(session.exec(select(Delivery).where(
        col(Delivery.incident_id) == incident_id, Delivery.kind == "page", Delivery.state == "queued",
        ~sa.exists().where(earlier.c.lane == Delivery.lane, earlier.c.state == "queued", earlier.c.id < Delivery.id))
        .order_by(col(Delivery.id))))


def deliveries_due(*, session: Session, limit: int) -> list[Delivery]:
    """Everything still queued, oldest first — also what another process holds or what waits for a retry, so
    that each lane stops at its first undelivered item and nothing behind it overtakes it."""
    return list(session.exec(select(Delivery).where(Delivery.state == "queued")
                             .order_by(col(Delivery.id)).limit(limit)))


def _claimable(table: sa.Table) -> tuple:
    """Queued, due, and either never claimed or claimed by a process whose lease ran out (it died)."""
    return (table.c.id == sa.bindparam("b_id"), table.c.state == "queued",
            sa.or_(table.c.claimed_at.is_(None), table.c.claimed_at < sa.bindparam("b_before", type_=UTCDateTime())),
            table.c.next_attempt_at <= sa.bindparam("b_now", type_=UTCDateTime()))


_CLAIM_VALUES = {"claimed_at": sa.bindparam("b_now"), "claim_token": sa.bindparam("b_token")}
_CLAIM = sa.update(_OUTBOX).where(*_claimable(_OUTBOX)).values(_CLAIM_VALUES)
# PostgreSQL: a row another process holds locked (its claim not committed yet: it is declaring the incident in the
# claim's own transaction) is skipped, not waited for — it is that process's.
_CLAIMING = _OUTBOX.alias("claiming")
_CLAIM_UNLESS_LOCKED = sa.update(_OUTBOX).where(_OUTBOX.c.id == sa.select(_CLAIMING.c.id).where(
    *_claimable(_CLAIMING)).with_for_update(skip_locked=True).scalar_subquery()).values(_CLAIM_VALUES)


def claim_delivery(*, session: Session, delivery_id: int, token: str, now: datetime, claimed_before: datetime) -> bool:
    """One conditional write: this process (holding `token`) alone may deliver it until its lease lapses."""
    statement = _CLAIM_UNLESS_LOCKED if session.get_bind().dialect.name == "postgresql" else _CLAIM
    result = session.execute(statement, {"b_id": delivery_id, "b_now": now, "b_before": claimed_before,
                                         "b_token": token})
    return result.rowcount == 1


def renew_claim(*, session: Session, delivery_id: int, token: str, now: datetime) -> bool:
    """Still ours? Then the lease starts again from now (and the row stays locked until the commit)."""
    return _held_write(session, delivery_id, token, claimed_at=now)


def renew_claims(*, session: Session, held: dict[int, str], now: datetime) -> list[int]:
    """A live process's heartbeat: each of its claims (id → token) still queued under its token starts its lease
    again from now; the ids renewed come back. A claim taken over carries another token and is not renewed (the
    fence). On PostgreSQL a row locked at this moment is skipped, not waited for — its holder is writing it (this
    process's own checkpoint or finish, which renews or releases it), and waiting here could close a circle of
    locks with them."""
    if not held:
        return []
    mine = sa.tuple_(_OUTBOX.c.id, _OUTBOX.c.claim_token).in_(list(held.items()))
    if session.get_bind().dialect.name == "postgresql":
        locked = sa.select(_OUTBOX.c.id).where(mine, _OUTBOX.c.state == "queued").with_for_update(skip_locked=True)
        statement = sa.update(_OUTBOX).where(_OUTBOX.c.id.in_(locked))
    else:
        statement = sa.update(_OUTBOX).where(mine, _OUTBOX.c.state == "queued")
    return list(session.execute(statement.values(claimed_at=now).returning(_OUTBOX.c.id)).scalars())


def finish_delivery(*, session: Session, delivery_id: int, token: str, **values) -> bool:
    """The outcome, recorded only by the holder of the claim; the claim is released with it."""
    return _held_write(session, delivery_id, token, claimed_at=None, claim_token=None, **values)


def delivery_backlog(*, session: Session, now: datetime) -> dict:
    """Counts by state and kind, and how long the oldest undelivered one has waited (seconds)."""
    rows = session.exec(select(Delivery.state, Delivery.kind, sa.func.count()).group_by(Delivery.state, Delivery.kind))
    counts: dict[str, dict[str, int]] = {}
    for state, kind, count in rows:
        counts.setdefault(state, {})[kind] = count
    oldest = session.exec(select(sa.func.min(Delivery.created_at)).where(Delivery.state == "queued")).one()
    age = max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
    return {"counts": counts, "oldest_queued_seconds": round(age, 1)}


# -- metrics ------------------------------------------------------------------------------------------------

def metric_counts(*, session: Session) -> dict[str, dict[tuple[str, ...], int]]:
    """Everything /metrics reports, counted from the stored state (so every replica reports the same)."""
    def grouped(query) -> dict[tuple[str, ...], int]:
        return {tuple(str(v) for v in row[:-1]): row[-1] for row in session.exec(query)}

    return {
        "open": grouped(select(Incident.priority, sa.func.count()).where(col(Incident.status).in_(OPEN_STATUS_VALUES))
                        .group_by(Incident.priority)),
        "declared": grouped(select(Incident.source, sa.func.count()).group_by(Incident.source)),
        "pages": grouped(select(Page.target_role, sa.func.count()).where(col(Page.sent_at).is_not(None))
                         .group_by(Page.target_role)),
        "acknowledged": {(): session.exec(select(sa.func.count()).select_from(Incident)
                                          .where(col(Incident.acknowledged_at).is_not(None))).one()},
        "reminders": grouped(select(Notice.kind, sa.func.count()).where(Notice.state == "sent").group_by(Notice.kind)),
        "outbox": grouped(select(Delivery.state, sa.func.count()).group_by(Delivery.state)),
    }


# -- web board ----------------------------------------------------------------------------------------------

def board_incidents(*, session: Session, rotation_id: int | None, priority: str | None, resolved_since: datetime,
                    limit: int = 500) -> list[Incident]:
    query = select(Incident).where(sa.or_(col(Incident.status).in_(OPEN_STATUS_VALUES), sa.and_(
        Incident.status == "resolved", col(Incident.resolved_at) >= resolved_since)))
    if rotation_id is not None:
        query = query.where(Incident.rotation_id == rotation_id)
    if priority:
        query = query.where(Incident.priority == priority)
    return list(session.exec(query.order_by(col(Incident.priority), col(Incident.number).desc()).limit(limit)))


# -- issue trackers -------------------------------------------------------------------------------------------


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


# -- what incident channels said (timeline capture) -------------------------------------------------------------


def incident_at(*, session: Session, channel_id: str, thread_ts: str | None) -> int | None:
    """The id of the incident whose own channel this is, or whose thread (under its announcement) `thread_ts` is:
    one indexed look-up (every message in every channel the bot is in asks it)."""
    place = col(Incident.thread_ts).is_(None) if not thread_ts else sa.or_(col(Incident.thread_ts).is_(None),
                                                                           Incident.thread_ts == thread_ts)
    return session.exec(select(Incident.id).where(Incident.channel_id == channel_id, place)
                         .order_by(col(Incident.thread_ts).is_not(None), col(Incident.id).desc()).limit(1)).first()


def message_for_change(*, session: Session, channel_id: str, ts: str) -> ChannelMessage | None:
    """The message's row, locked: what is heard of it and who marks it take turns."""
    return _lock(session, ChannelMessage, sa.and_(ChannelMessage.channel_id == channel_id, ChannelMessage.ts == ts))


def message_at(*, session: Session, channel_id: str, ts: str) -> ChannelMessage | None:
    return session.exec(select(ChannelMessage).where(ChannelMessage.channel_id == channel_id,
                                                     ChannelMessage.ts == ts)).first()


def message_row(*, session: Session, incident_id: int, channel_id: str, ts: str, now: datetime) -> ChannelMessage:
    """The message's row, made if it is not there yet (once per channel and ts, whatever races), and locked."""
    if message_at(session=session, channel_id=channel_id, ts=ts) is None:
        try:
            with session.begin_nested():
                session.add(ChannelMessage(incident_id=incident_id, channel_id=channel_id, ts=ts, seen_at=now))
        except sa.exc.IntegrityError:
            pass  # another process made it a moment ago
    return message_for_change(session=session, channel_id=channel_id, ts=ts)


def forget_messages(*, session: Session, before: datetime) -> int:
    table = ChannelMessage.__table__
    return session.execute(sa.delete(table).where(table.c.seen_at < before)).rowcount




# -- follow-ups -------------------------------------------------------------------------------------------------


def add_follow_up(*, session: Session, incident_id: int, text: str, owner: str, due_on: date | None,
                  created_by: str, now: datetime) -> FollowUp:
    item = FollowUp(incident_id=incident_id, text=text, owner=owner, due_on=due_on, created_by=created_by,
                    created_at=now)
    session.add(item)
    session.flush()
    return item


def follow_up_by_id(*, session: Session, follow_up_id: int) -> FollowUp | None:
    return session.get(FollowUp, follow_up_id)


def follow_ups_of(*, session: Session, incident_id: int) -> list[FollowUp]:
    return list(session.exec(select(FollowUp).where(FollowUp.incident_id == incident_id).order_by(FollowUp.id)))


def list_follow_ups(*, session: Session, owner: str | None, open_only: bool,
                    limit: int) -> list[tuple[FollowUp, int]]:
    """(follow-up, its incident's number), open ones by due day first."""
    query = select(FollowUp, Incident.number).join(Incident, col(Incident.id) == FollowUp.incident_id)
    if owner:
        query = query.where(FollowUp.owner == owner)
    if open_only:
        query = query.where(col(FollowUp.done_at).is_(None))
    query = query.order_by(col(FollowUp.done_at).is_not(None), col(FollowUp.due_on).is_(None), FollowUp.due_on,
                           FollowUp.id)
    return [(item, number) for item, number in session.exec(query.limit(limit))]


def overdue_follow_ups(*, session: Session, before: date, rotation_id: int | None = None,
                       limit: int = 500) -> list[tuple[FollowUp, int]]:
    """Open follow-ups due before `before`, with their incident's number (of one rotation's incidents)."""
    query = select(FollowUp, Incident.number).join(Incident, col(Incident.id) == FollowUp.incident_id).where(
        col(FollowUp.done_at).is_(None), col(FollowUp.due_on).is_not(None), col(FollowUp.due_on) < before)
    if rotation_id is not None:
        query = query.where(Incident.rotation_id == rotation_id)
    return [(item, number) for item, number in session.exec(query.order_by(FollowUp.due_on, FollowUp.id)
                                                            .limit(limit))]


def notice_once(*, session: Session, key: str, kind: str, incident_id: int | None, now: datetime) -> bool:
    """Stores the notice `key` unless it is there: True for the one process (and the one tick) that stored it."""
    if session.exec(select(Notice.id).where(Notice.key == key)).first() is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Notice(key=key, kind=kind, incident_id=incident_id, state="sent", created_at=now,
                               sent_at=now))
    except sa.exc.IntegrityError:
        return False
    return True


# -- revocable links and sessions (the web board) ------------------------------------------------------------------

def person_feed_version(*, session: Session, user_id: str) -> int:
    row = session.get(PersonFeed, user_id)
    return row.version if row is not None else 0


def reset_person_feed(*, session: Session, user_id: str, now: datetime) -> int:
    """The person's feed version, bumped (links carrying an older one stop working); the caller commits."""
    row = session.get(PersonFeed, user_id, with_for_update=True) or PersonFeed(user_id=user_id, reset_at=now)
    row.version += 1
    row.reset_at = now
    session.add(row)
    return row.version


def web_session(*, session: Session, session_id: str, now: datetime) -> WebSession | None:
    row = session.get(WebSession, session_id)
    return row if row is not None and row.expires_at > now else None


def end_web_session(*, session: Session, session_id: str) -> None:
    session.exec(sa.delete(WebSession).where(WebSession.id == session_id))


def end_web_sessions_of(*, session: Session, user_id: str) -> int:
    """Every session of a person (deactivated in Slack); the caller commits."""
    return session.exec(sa.delete(WebSession).where(WebSession.user_id == user_id)).rowcount


def end_expired_web_sessions(*, session: Session, now: datetime) -> None:
    session.exec(sa.delete(WebSession).where(WebSession.expires_at <= now))


def web_session_checked(*, session: Session, session_id: str, now: datetime) -> None:
    session.exec(sa.update(WebSession).where(WebSession.id == session_id).values(checked_at=now))
