from __future__ import annotations

from poller.once import Once


def test_a_key_is_first_once_while_remembered() -> None:
    once = Once()
    assert once.first((990101, "timestamp"))
    assert not once.first((990101, "timestamp"))
    assert once.first((990101, "missing_field"))


def test_memory_is_bounded_and_forgets_the_oldest_first() -> None:
    once = Once(size=3)
    for key in range(100_000):
        assert once.first(key)
    assert not once.first(99_999)
    assert once.first(0)  # long forgotten: logged once more, never a growing set
