"""The background pool that lets acks go first: work started by a request (Slack calls after the ack, the App Home,
answers) waits while other requests are in flight, in turns (forms first: a trigger id lives 3 s; then pages), and
is kept referenced, logged when it fails, and drained at shutdown and in tests."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from enum import IntEnum
from typing import Any

log = logging.getLogger(__name__)


# Work after an ack goes when the app is quiet (no Slack request in flight, none for ACKS_FIRST_QUIET); under a
# light load (at most ACKS_FIRST_BUSY in flight) once it waited ACKS_FIRST_LIGHT_WAIT, so steady traffic (where a
# moment without a request is rare) never holds it back for long; during a burst (more in flight) only once it
# waited ACKS_FIRST_MAX_WAIT, so that the burst is acknowledged first without starving what it caused.
ACKS_FIRST_QUIET = 0.02
ACKS_FIRST_BUSY = 8
# A burst is also ACKS_FIRST_BURST requests arriving within ACKS_FIRST_BURST_WINDOW, however few are in flight at
# once (an ack takes a millisecond, so a burst of 4,000 at 200 concurrent may have only a few inside the handler at
# any instant): the light-load wait counts from the burst's last request. At full size (bursts of 1,000 and 4,000)
# the reads answered after their acks otherwise began mid-burst and took the interpreter lock from the acks.
ACKS_FIRST_BURST = 20
ACKS_FIRST_BURST_WINDOW = 0.1
ACKS_FIRST_LIGHT_WAIT = 0.2
ACKS_FIRST_MAX_WAIT = 5.0
ACKS_FIRST_PARALLEL = 16  # post-ack jobs running at once (forms apart)
# views.open calls running at once; they go out even mid-burst. A form takes 100-250 ms in a burst (its read,
# Slack's answer, the loop's queue) and a burst of 4,000 `/incident` arrives at about 2,000 a second: at 200 at once,
# forms queued here and the last opened 1.6 s after its command (Slack's trigger ids last 3 s)
FORMS_AT_ONCE = 400


class Turn(IntEnum):
    """Which work after an ack goes first. A form must open within Slack's 3 s (the trigger id expires), a page
    reaches a person at 3 a.m.; the rest (set-up, answers, the App Home) can follow."""

    FORM = 0
    PAGE = 1
    REST = 2


class Background:
    """Keeps references to fire-and-forget work so it is not garbage-collected, logged when it fails,
    and can be awaited (`drain`) at shutdown and in tests.

    Work after an ack goes through a small pool with priorities (`Turn`) instead of all at once: forms open at
    once (at most FORMS_AT_ONCE at a time); the rest waits while a burst of Slack requests is being answered (see
    ACKS_FIRST_*), pages before the others, then runs ACKS_FIRST_PARALLEL at a time — so a burst is
    acknowledged at the speed of a bare Bolt app and the Slack calls it causes follow right after, never as one
    flood that stalls the acks of the next burst.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task] = set()
        self.answering = 0
        self._last_request = 0.0
        self._arrivals: deque[float] = deque(maxlen=ACKS_FIRST_BURST)
        self._last_burst = float("-inf")  # when requests last arrived as a burst
        # (since when, what waits, its task's name): a task's future, or for Turn.REST the bare coroutine: a
        # burst's 4,000 answers waiting as tasks held ~26 objects each for the cyclic collector to walk again and
        # again (a quarter of the burst's time went to collections); as coroutines, about 6
        self._waiting: dict[Turn, deque[tuple[float, Any, str]]] = {turn: deque() for turn in Turn}
        self._running = {Turn.FORM: 0, Turn.PAGE: 0}  # PAGE counts every turn but FORM
        self._gate: asyncio.Task | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop that work asked for from the database's threads runs on."""
        self._loop = loop

    def _on_loop(self, start: Callable[..., Any], *args: Any) -> bool:
        """False on the loop's own thread; elsewhere (a database thread) `start` is handed to the loop."""
        try:
            asyncio.get_running_loop()
            return False
        except RuntimeError:
            if self._loop is None:
                raise
            self._loop.call_soon_threadsafe(start, *args)
            return True

    def call_on_loop(self, function: Callable[..., Any], *args: Any) -> None:
        """`function(*args)` on the event loop: at once on its thread, handed over from a database thread."""
        if not self._on_loop(function, *args):
            function(*args)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task | None:
        if self._on_loop(self.spawn, coro, name):
            return None
        self._loop = self._loop or asyncio.get_running_loop()
        task = self._loop.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def spawn_after_acks(self, coro: Coroutine[Any, Any, Any], name: str,
                         turn: Turn = Turn.REST) -> asyncio.Task | None:
        if self._on_loop(self.spawn_after_acks, coro, name, turn):
            return None
        loop = asyncio.get_running_loop()
        if turn is Turn.REST:  # waits as the bare coroutine; its task is made when its turn comes (returns None)
            self._waiting[turn].append((loop.time(), coro, name))
            self._gate_open()
            return None
        ready = loop.create_future()
        self._waiting[turn].append((loop.time(), ready, name))
        self._gate_open()
        return self.spawn(self._after_acks(ready, coro, Turn.FORM if turn is Turn.FORM else Turn.PAGE), name=name)

    def _gate_open(self) -> None:
        if self._gate is None or self._gate.done():
            self._gate = self.spawn(self._open_gate(), name="acks-first")
            if self._gate is not None:
                self._gate.add_done_callback(self._gate_closed)

    def request_started(self) -> None:
        self.answering += 1
        now = self._last_request = asyncio.get_running_loop().time()
        self._arrivals.append(now)
        if len(self._arrivals) == ACKS_FIRST_BURST and now - self._arrivals[0] < ACKS_FIRST_BURST_WINDOW:
            self._last_burst = now

    def request_finished(self) -> None:
        self.answering -= 1

    def in_burst(self) -> bool:
        """More than a light load being answered, or requests arrived as a burst a moment ago."""
        now = asyncio.get_running_loop().time()
        return self.answering > ACKS_FIRST_BUSY or now - self._last_burst < ACKS_FIRST_LIGHT_WAIT

    async def burst_over(self, until: float) -> None:
        """Returns once no burst is being answered, or at loop time `until` if one goes on. The scheduler's tick
        waits on it before each step: at full size a step's reads take the interpreter lock for tens of
        milliseconds, and a tick that fell inside a burst put its acks' p99 at 3-4 times a bare Bolt app's."""
        loop = asyncio.get_running_loop()
        while self.in_burst() and loop.time() < until:
            await asyncio.sleep(0.01)

    def quiet(self) -> bool:
        """No request being answered, and none for a moment (within a burst there are such instants too)."""
        loop = self._loop
        return not self.answering and (loop is None or loop.time() - self._last_request >= ACKS_FIRST_QUIET)

    def _release(self, turn: Turn, pool: Turn) -> None:
        _, waiting, name = self._waiting[turn].popleft()
        if turn is Turn.REST:  # a bare coroutine: its task starts now (its place is given back however it ends)
            self._running[pool] += 1
            self.spawn(waiting, name=name).add_done_callback(lambda _task: self._give_back(pool))
            return
        if waiting.done():  # its task was cancelled while it waited
            return
        self._running[pool] += 1
        waiting.set_result(None)

    def _give_back(self, pool: Turn) -> None:
        self._running[pool] -= 1

    async def _open_gate(self) -> None:
        loop = asyncio.get_running_loop()
        forms, pages, rest = (self._waiting[t] for t in Turn)
        while forms or pages or rest:
            now = loop.time()
            while forms and self._running[Turn.FORM] < FORMS_AT_ONCE:
                self._release(Turn.FORM, Turn.FORM)
            quiet = self.quiet()
            waited = max(now - q[0][0] if q else 0.0 for q in (pages, rest))
            overdue = waited >= (ACKS_FIRST_MAX_WAIT if self.in_burst() else ACKS_FIRST_LIGHT_WAIT)
            while (quiet or overdue) and (pages or rest) and self._running[Turn.PAGE] < ACKS_FIRST_PARALLEL:
                self._release(Turn.PAGE if pages else Turn.REST, Turn.PAGE)
            await asyncio.sleep(0.005)

    def _gate_closed(self, gate: asyncio.Task) -> None:
        """The gate cancelled (the process is going; it may not even have begun): what never began never runs."""
        if gate.cancelled():
            rest = self._waiting[Turn.REST]
            while rest:
                rest.popleft()[1].close()

    async def _after_acks(self, ready: asyncio.Future, coro: Coroutine[Any, Any, Any], pool: Turn) -> Any:
        try:
            await ready
        except asyncio.CancelledError:
            coro.close()  # cancelled while it waited: it never runs
            if ready.done() and not ready.cancelled():  # let through a moment before: its place is free again
                self._running[pool] -= 1
            raise
        try:
            return await coro
        finally:
            self._running[pool] -= 1

    def _finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def drain(self, timeout: float = 30) -> None:
        while self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
