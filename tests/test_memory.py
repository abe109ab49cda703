"""Memory given back when the bot goes idle: at most every TRIM_EVERY, whatever asks."""

from __future__ import annotations

import asyncio

from bot import memory


def test_memory_is_given_back_at_most_every_few_seconds(monkeypatch):
    now = [1000.0]
    collections: list[int] = []
    monkeypatch.setattr(memory.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(memory, "_last", 0.0)
    monkeypatch.setattr(memory.gc, "collect", lambda *a: collections.append(1) or 0)
    assert memory.release_now_and_then() and collections == [1]
    now[0] += memory.TRIM_EVERY - 0.1
    assert not memory.release_now_and_then() and collections == [1]
    now[0] += 0.2
    assert memory.release_now_and_then() and collections == [1, 1]


async def test_memory_asked_back_too_soon_is_given_back_once_the_interval_is_up(monkeypatch):
    """The last burst of the day may end just after a release: it is given back too, not held until the next."""
    collections: list[int] = []
    monkeypatch.setattr(memory.gc, "collect", lambda *a: collections.append(1) or 0)
    monkeypatch.setattr(memory, "_later", None)
    monkeypatch.setattr(memory, "_last", memory.time.monotonic() - memory.TRIM_EVERY + 0.2)
    assert not memory.release_now_and_then() and not collections
    later = memory._later
    assert later is not None and 0 < later.when() - asyncio.get_running_loop().time() <= 0.2
    assert not memory.release_now_and_then() and memory._later is later  # asked again: still one release owed
    later.cancel()  # run by hand rather than waited for: as if the 0.2 s had passed
    monkeypatch.setattr(memory, "_last", memory.time.monotonic() - memory.TRIM_EVERY)
    memory._deferred(lambda: False)  # requests are being answered by then: not now (the next idle moment will)
    assert not collections and memory._later is None
    memory._deferred(lambda: True)
    assert collections == [1] and memory._later is None
