"""The database's threads: requests' work goes before background work, and work that meets a connection the
database dropped is tried again on a fresh one. Real threads, a real PostgreSQL; nothing mocked."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.db import repo
from bot.db.engine import SQLITE_CACHE_KIB, make_engine
from bot.db.models import Delivery
from bot.db.schema import upgrade_to_head
from tests.conftest import cannot_run


def test_waiting_requests_go_before_queued_background_work():
    threads = repo.database.PriorityThreads(1)
    started, release, order = threading.Event(), threading.Event(), []

    def busy() -> None:
        started.set()
        release.wait(5)

    def note(what: str):
        return lambda: order.append(what)

    first = threads.submit(1, busy)
    assert started.wait(5)
    done = [threads.submit(1, note(f"background {i}")) for i in range(3)]
    done.append(threads.submit(0, note("request")))
    release.set()
    for future in [first, *done]:
        future.result(5)
    threads.shutdown()
    assert order == ["request", "background 0", "background 1", "background 2"]


def test_an_error_reaches_whoever_waits_and_the_thread_goes_on():
    threads = repo.database.PriorityThreads(1)

    def broken() -> None:
        raise ValueError("no")

    failed = threads.submit(0, broken)
    fine = threads.submit(0, lambda: 42)
    assert isinstance(failed.exception(5), ValueError) and fine.result(5) == 42
    threads.shutdown()


async def test_work_that_meets_a_dropped_connection_is_tried_again(database_url):
    engine = make_engine(database_url)
    db = repo.database.Database(engine)
    calls = []

    def one() -> int:
        calls.append(1)
        with db.session() as session:
            return session.execute(sa.text("SELECT 1")).scalar_one()

    try:
        assert await db.run(one) == 1
        if engine.dialect.name == "postgresql":  # the server drops every connection of this database
            name = engine.url.database
            admin = sa.create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT",
                                     poolclass=sa.pool.NullPool)
            with admin.connect() as connection:
                dropped = connection.execute(sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :name"),
                    {"name": name}).scalar_one()
            admin.dispose()
            assert dropped >= 1
            await asyncio.sleep(0.1)
            calls.clear()
            assert await db.run(one) == 1 and len(calls) == 2  # the first try met the dropped connection
    finally:
        db.close()
        engine.dispose()


async def test_declarations_side_by_side_in_the_database_threads_each_get_a_number(bot):
    """The database threads on PostgreSQL (one on SQLite) declaring at once: every declaration stored, numbers 1..n."""
    from bot.domain.incident import Declaration, Priority

    declaring = bot.runtime.services.declaring
    many = 80
    declared = await asyncio.gather(*(bot.runtime.db.run(declaring.declare, Declaration(
        title=f"side by side {i}", reporter_id="U0REPORTER", priority=Priority.P2, declare_key=f"threads:{i}"))
        for i in range(many)))
    assert all(d.created for d in declared)
    assert sorted(d.incident.number for d in declared) == list(range(1, many + 1))


def test_postgresql_connections_give_up_on_a_statement_that_waits_too_long(postgres):
    """A lock held by a stuck replica must not hold our threads for ever: statements are cut off, and a
    transaction left idle lets go of its locks. (SQLite has one writer, in our one process.)"""
    if not postgres.url:
        cannot_run(f"PostgreSQL is not available: {postgres.why_not}")
    engine = make_engine(postgres.new_database())
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("SHOW statement_timeout")).scalar() == "15s"
            assert connection.execute(sa.text("SHOW idle_in_transaction_session_timeout")).scalar() == "1min"
        holder, waiter = engine.connect(), engine.connect()
        try:
            holder.execute(sa.text("CREATE TABLE held (id int)"))
            holder.commit()
            holder.execute(sa.text("LOCK TABLE held IN ACCESS EXCLUSIVE MODE"))
            waiter.execute(sa.text("SET statement_timeout = 200"))  # as the 15 s would, only sooner
            try:
                waiter.execute(sa.text("SELECT * FROM held"))
                raise AssertionError("the statement waited for the lock for ever")
            except sa.exc.OperationalError as exc:
                assert "statement timeout" in str(exc)
        finally:
            waiter.close()
            holder.close()
    finally:
        engine.dispose()


def test_work_postgresql_rolls_back_to_break_a_deadlock_is_tried_again(postgres):
    """Two transactions lock two rows in opposite orders: PostgreSQL breaks the deadlock by rolling one back, and
    `retry_on_deadlock` runs that one again, so both end done (without it, one would fail)."""
    if not postgres.url:
        cannot_run(f"PostgreSQL is not available: {postgres.why_not}")
    engine = make_engine(postgres.new_database())
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE pair (id int PRIMARY KEY, n int)"))
        connection.execute(sa.text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
    both_hold_one = threading.Barrier(2, timeout=10)
    tries: list[str] = []

    def lock(first: int, second: int) -> str:
        tries.append(f"{first}{second}")
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": first})
            if len(tries) <= 2:  # the first two tries meet at the barrier, each holding its first row
                both_hold_one.wait()
            connection.execute(sa.text("UPDATE pair SET n = n + 1 WHERE id = :id"), {"id": second})
        return "done"

    try:
        results: list = []
        threads = [threading.Thread(target=lambda a=a, b=b: results.append(repo.database.retry_on_deadlock(lock, a, b)))
                   for a, b in ((1, 2), (2, 1))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        # One of them ran again; its second try may meet the other again (which of two waiters gets a released row is
        # not fixed), and then one runs again once more: three tries or more, both done.
        assert results == ["done", "done"] and len(tries) >= 3, tries
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT sum(n) FROM pair")).scalar_one() == 4
    finally:
        engine.dispose()


def test_a_claim_skips_a_delivery_another_process_is_claiming_instead_of_waiting_for_it(postgres):
    """A replica declaring an incident holds its delivery's row locked until the declaration commits (the claim and
    the declaration are one transaction): another replica's claim passes it by at once, without holding one of its
    database threads until then — and takes it if that transaction is rolled back."""
    if not postgres.url:
        cannot_run(f"PostgreSQL is not available: {postgres.why_not}")
    engine = make_engine(postgres.new_database())
    upgrade_to_head(engine)
    now = datetime.now(UTC)
    repo.deliveries.queue_together(engine=engine,
                                   rows=[repo.deliveries.delivery_row(lane="declare:V1", kind="declare", payload="{}",
                                                                      now=now)])
    claim = {"now": now, "claimed_before": now - timedelta(minutes=2)}
    try:
        with Session(engine) as declaring, Session(engine) as other:
            delivery_id = declaring.exec(select(Delivery.id)).one()
            assert repo.deliveries.claim_delivery(session=declaring, delivery_id=delivery_id, token="A", **claim)
            other.execute(sa.text("SET statement_timeout = 3000"))  # waiting would end in an error, not in False
            started = time.monotonic()
            assert not repo.deliveries.claim_delivery(session=other, delivery_id=delivery_id, token="B", **claim)
            assert time.monotonic() - started < 1.0
            other.rollback()
            declaring.rollback()  # the declaration failed, and its claim went with it: free to take
            assert repo.deliveries.claim_delivery(session=other, delivery_id=delivery_id, token="B", **claim)
            other.commit()
    finally:
        engine.dispose()


def test_every_sqlite_connection_caps_its_page_cache(tmp_path):
    """The cap holds the bot's memory over bursts (each connection's cache would grow to 2 MB as the file grows)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'cap.db'}")
    try:
        with engine.connect() as first, engine.connect() as second:
            for connection in (first, second):
                kib = -connection.execute(sa.text("PRAGMA cache_size")).scalar_one()
                assert kib == SQLITE_CACHE_KIB < 2000
    finally:
        engine.dispose()
