"""The database machinery: sessions, the threads database work runs in, the group commit, retries after a deadlock."""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.db.repo import deliveries

T = TypeVar("T")
log = logging.getLogger(__name__)
# PostgreSQL: statements of different requests wait on the network side by side. More is not faster: with 16, the
# threads' Python took the interpreter lock from the event loop (`/incident` p99 1.84× bare Bolt instead of 0.78×)
# and end to end went no faster once the numbering lock stopped being held across round trips (docs/performance.md).
DATABASE_THREADS = 8


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
            self._group = GroupCommit(self, lambda rows: deliveries.queue_together(engine=self.engine, rows=rows))
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
