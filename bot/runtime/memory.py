"""Giving memory back after a burst: CPython keeps freed objects' memory in its own pools and glibc keeps freed
heap in its arenas, so a process that handled a burst stays as large as the burst made it. When the bot goes idle
(at most every TRIM_EVERY) a full collection runs and glibc is asked to return what it can (`malloc_trim`)."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import time
from collections.abc import Callable

TRIM_EVERY = 10.0  # seconds
BUSY_RETRY = 1.0  # seconds

_libc = None
_last = 0.0
_later: tuple[asyncio.AbstractEventLoop, asyncio.TimerHandle] | None = None


def _malloc_trim():
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        try:
            _libc = ctypes.CDLL(name) if name else False
        except OSError:
            _libc = False
    return getattr(_libc, "malloc_trim", None) if _libc else None  # glibc only (not musl, not macOS)


def release_now_and_then(quiet: Callable[[], bool] = lambda: True) -> bool:
    """Returns whether it ran. Only while `quiet()` (no request being answered: a full collection would hold up
    their acks), at most every TRIM_EVERY. Asked while busy or too soon, it comes back on its own (on the running
    event loop, if any) — when the interval is up, then every BUSY_RETRY while requests are being answered: the last
    burst of a day is given back too, not kept until the next one ends."""
    global _last
    now = time.monotonic()
    if now - _last < TRIM_EVERY:
        _come_back(TRIM_EVERY - (now - _last), quiet)
        return False
    if not quiet():
        _come_back(BUSY_RETRY, quiet)
        return False
    _last = now
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    return True


def _come_back(delay: float, quiet: Callable[[], bool]) -> None:
    """One call pending at a time, on the running loop (one left on a loop since closed does not count)."""
    global _later
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop in this thread: the next time the deliveries go idle will do
        return
    if _later is not None and _later[0] is loop and not _later[1].cancelled():
        return
    _later = (loop, loop.call_later(delay, _deferred, quiet))


def _deferred(quiet: Callable[[], bool]) -> None:
    global _later
    _later = None
    release_now_and_then(quiet)
