"""Channel-name grammar and prefix classification (reference §4.1, checklist 18)."""

from __future__ import annotations

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
