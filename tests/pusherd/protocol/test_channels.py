"""Channel-name grammar and prefix classification (reference §4.1, checklist 18)."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable

import pytest

from pusherd.protocol.channels import (
    DEFAULT_MAX_CHANNEL_NAME_LENGTH,
    SERVER_TO_USER_PREFIX,
    ChannelKind,
    ChannelType,
    classify_channel,
    is_valid_channel_name,
)

PUBLIC = ChannelKind.PUBLIC
PRIVATE = ChannelKind.PRIVATE
PRESENCE = ChannelKind.PRESENCE
ENCRYPTED = ChannelKind.ENCRYPTED
S2U = ChannelKind.SERVER_TO_USER


# The §4.1 table, one row per prefix, tested longest first by the code: each row also checks that
# a longer prefix is not mistaken for a shorter one.
@pytest.mark.parametrize(
    ("name", "kind", "is_cache", "needs_signature", "allows_client_events"),
    [
        ("private-encrypted-cache-x", ENCRYPTED, True, True, False),
        ("private-encrypted-x", ENCRYPTED, False, True, False),
        ("private-cache-x", PRIVATE, True, True, True),
        ("private-x", PRIVATE, False, True, True),
        ("presence-cache-x", PRESENCE, True, True, True),
        ("presence-x", PRESENCE, False, True, True),
        ("cache-x", PUBLIC, True, False, False),
        ("#server-to-user-42", S2U, False, False, False),
        ("matches", PUBLIC, False, False, False),
        # Laravel names (§4.1): dots in the rest of the name.
        ("private-App.Models.User.42", PRIVATE, False, True, True),
        ("presence-match.7", PRESENCE, False, True, True),
        # Prefixes only count at the start, and need their trailing dash.
        ("privatex", PUBLIC, False, False, False),
        ("presence", PUBLIC, False, False, False),
        ("my-private-x", PUBLIC, False, False, False),
        ("cache", PUBLIC, False, False, False),
        ("private-encrypted", PRIVATE, False, True, True),
        ("presence-encrypted-x", PRESENCE, False, True, True),
        ("private-cache-encrypted-x", PRIVATE, True, True, True),
    ],
)
def test_classification_table_of_section_4_1(
    name: str,
    kind: ChannelKind,
    is_cache: bool,
    needs_signature: bool,
    allows_client_events: bool,
) -> None:
    channel_type = classify_channel(name)
    assert channel_type == ChannelType(kind, is_cache=is_cache)
    assert channel_type is not None
    assert channel_type.needs_signature is needs_signature
    assert channel_type.allows_client_events is allows_client_events


def test_default_max_length_is_164() -> None:
    assert DEFAULT_MAX_CHANNEL_NAME_LENGTH == 164


@pytest.mark.parametrize(
    ("name", "is_valid"),
    [
        pytest.param("a" * 164, True, id="checklist-18-164-accepted"),
        pytest.param("a" * 165, False, id="checklist-18-165-refused"),
        pytest.param("private-" + "a" * 156, True, id="164-includes-prefix"),
        pytest.param("private-" + "a" * 157, False, id="165-includes-prefix"),
        pytest.param("has space", False, id="checklist-18-space"),
        pytest.param("has#hash", False, id="checklist-18-hash-inside"),
        pytest.param("#hash-first", False, id="other-hash-channel"),
        pytest.param("#server-to-user", False, id="server-to-user-without-dash"),
        pytest.param("#server-to-user-", False, id="server-to-user-empty-id"),
        pytest.param("#server-to-user-42#", False, id="server-to-user-hash-in-id"),
        pytest.param("#server-to-user-a b", False, id="server-to-user-space-in-id"),
        pytest.param("#server-to-user-42", True, id="server-to-user-accepted"),
        pytest.param("#server-to-user-user_1.a=b@c,d;e", True, id="server-to-user-all-chars"),
        pytest.param("", False, id="empty"),
        pytest.param("azAZ09_-=@,.;", True, id="every-allowed-character"),
        pytest.param("é", False, id="non-ascii"),
        pytest.param("a/b", False, id="slash"),
        pytest.param("a:b", False, id="colon"),
        pytest.param("a*", False, id="star"),
        pytest.param("a\n", False, id="trailing-newline"),
        pytest.param("\u0661", False, id="arabic-digit"),
    ],
)
def test_channel_name_grammar(name: str, is_valid: bool) -> None:
    assert is_valid_channel_name(name) is is_valid
    assert (classify_channel(name) is not None) is is_valid


def test_server_to_user_prefix_constant() -> None:
    assert SERVER_TO_USER_PREFIX == "#server-to-user-"


def test_server_to_user_name_counts_towards_length_limit() -> None:
    name = SERVER_TO_USER_PREFIX + "1" * (164 - len(SERVER_TO_USER_PREFIX))
    assert is_valid_channel_name(name)
    assert not is_valid_channel_name(name + "1")


@pytest.mark.parametrize(
    ("length", "max_length", "is_valid"),
    [
        (164, 164, True),
        (165, 164, False),
        (165, 200, True),
        (200, 200, True),
        (201, 200, False),
        (10, 9, False),
    ],
)
def test_max_length_is_configurable_up_to_200(length: int, max_length: int, is_valid: bool) -> None:
    name = "a" * length
    assert is_valid_channel_name(name, max_length) is is_valid
    assert (classify_channel(name, max_length) is not None) is is_valid


def _retained_bytes(work: Callable[[], None]) -> int:
    """Bytes still allocated after ``work`` returns (and a collection), as tracemalloc sees."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        work()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_refused_long_names_retain_no_memory() -> None:
    """Issue 10 item 2: 300 refused 250 KB names stayed in the ``lru_cache`` keyed by the raw
    string (~75 MB that never went away). A refused name is refused before any cache."""

    def refuse_300() -> None:
        for index in range(300):
            name = f"{index}-" + "x" * 250_000
            assert classify_channel(name, 200) is None
            assert classify_channel(" " + name) is None

    assert _retained_bytes(refuse_300) < 256 * 1024


def test_cache_holds_bounded_bytes_whatever_is_asked() -> None:
    """Whatever a stranger sends — many distinct valid names at the longest allowed length,
    names with refused characters, names over the limit — what stays behind is bounded."""

    def flood() -> None:
        for index in range(40_000):
            tag = f"{index:08d}"
            assert classify_channel(tag + "a" * 192, 200) is not None
            assert classify_channel(tag + " " * 192, 200) is None
            if index % 10 == 0:
                assert classify_channel(tag + "b" * 10_000, 200) is None

    # 4,096 cached names of 200 characters hold about 1.4 MB; the old cache kept 16,384 of any
    # length (10 KB each here: ~160 MB).
    assert _retained_bytes(flood) < 4 * 1024 * 1024


def test_classification_is_the_same_from_the_cache() -> None:
    """A name asked twice, and under another length limit, gets the same answer each time."""
    name = "presence-" + "r" * 160
    assert classify_channel(name, 200) == ChannelType(PRESENCE, is_cache=False)
    assert classify_channel(name, 200) == ChannelType(PRESENCE, is_cache=False)
    assert classify_channel(name, 164) is None
    assert classify_channel(name) is None
    assert classify_channel(name, 200) == ChannelType(PRESENCE, is_cache=False)
