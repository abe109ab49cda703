"""Memory given back when the bot goes idle: at most every TRIM_EVERY, whatever asks."""

from __future__ import annotations

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
