"""Memory given back when the bot goes idle: at most every TRIM_EVERY, whatever asks."""

from __future__ import annotations

import asyncio

from bot.runtime import memory


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


async def test_memory_asked_back_too_soon_or_while_busy_is_given_back_later(monkeypatch):
    """The last burst of the day may end just after a release, or while a request is being answered: it is given
    back once the interval is up and nothing is being answered, not held until the next burst."""
    collections: list[int] = []
    monkeypatch.setattr(memory.gc, "collect", lambda *a: collections.append(1) or 0)
    monkeypatch.setattr(memory, "_later", None)
    monkeypatch.setattr(memory, "_last", memory.time.monotonic() - memory.TRIM_EVERY + 0.2)
    loop = asyncio.get_running_loop()

    def pending_in() -> float:
        assert memory._later is not None and memory._later[0] is loop
        return memory._later[1].when() - loop.time()

    assert not memory.release_now_and_then() and not collections
    assert 0 < pending_in() <= 0.2
    first = memory._later
    assert not memory.release_now_and_then() and memory._later is first  # asked again: still one release owed
    first[1].cancel()  # each pending call is run by hand rather than waited for
    monkeypatch.setattr(memory, "_last", memory.time.monotonic() - memory.TRIM_EVERY)
    memory._deferred(lambda: False)  # requests are being answered by then: not now, a moment later
    assert not collections and 0 < pending_in() <= memory.BUSY_RETRY
    memory._later[1].cancel()
    memory._deferred(lambda: True)
    assert collections == [1] and memory._later is None
    # One left pending on a loop that has since closed (an earlier runtime) does not stop this loop's.
    monkeypatch.setattr(memory, "_later", (object(), first[1]))
    assert not memory.release_now_and_then() and 0 < pending_in() <= memory.TRIM_EVERY
    memory._later[1].cancel()
