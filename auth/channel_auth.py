"""The signed answers of the auth endpoints, built with pusherd's signature code (reference §5).

Pure: given the app credentials and what the policy granted, return the exact JSON object the
client expects. ``channel_data`` and ``user_data`` are serialised once here and signed as those
very bytes, which is what pusherd later verifies (§5.2: never re-serialise).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from pusherd.protocol.channels import ChannelKind
from pusherd.protocol.secret import Secret
from pusherd.protocol.signatures import (
    channel_string_to_sign,
    encrypted_shared_secret,
    sign_token,
    user_string_to_sign,
)

__all__ = [
    "AppCredentials",
    "channel_auth_body",
    "is_valid_socket_id",
    "presence_channel_data",
    "user_auth_body",
    "user_data_for",
]

#: ``^\d+\.\d+$`` as every server SDK checks it (§1.3), ASCII digits only.
_SOCKET_ID = re.compile(r"[0-9]+\.[0-9]+")
_MASTER_KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class AppCredentials:
    """The Pusher app's key and secret, and the optional base64 encryption master key (§5.3)."""

    key: str
    secret: Secret
    encryption_master_key_base64: Secret | None = None

    def __post_init__(self) -> None:
        if self.encryption_master_key_base64 is not None:
            self.master_key()  # fail at startup, not at the first encrypted subscription

    def master_key(self) -> bytes | None:
        """The 32 raw master-key bytes, or ``None`` when encryption is not configured."""
        if self.encryption_master_key_base64 is None:
            return None
        try:
            raw = base64.b64decode(self.encryption_master_key_base64.reveal(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("the encryption master key is not valid base64") from exc
        if len(raw) != _MASTER_KEY_BYTES:
            raise ValueError("the encryption master key must decode to 32 bytes")
        return raw


def is_valid_socket_id(socket_id: str) -> bool:
    return _SOCKET_ID.fullmatch(socket_id) is not None


def presence_channel_data(user_id: str, user_info: Mapping[str, str]) -> str:
    """``{"user_id": "<string>", "user_info": {…}}`` as compact JSON (§6.1, Laravel style)."""
    return orjson.dumps({"user_id": user_id, "user_info": dict(user_info)}).decode()


def user_data_for(user_id: str, user_info: Mapping[str, str]) -> str:
    """The signin ``user_data``: ``id`` is a string, as pusher-js requires (§13.1 step 3)."""
    return orjson.dumps({"id": user_id, "user_info": dict(user_info)}).decode()


def channel_auth_body(
    *,
    credentials: AppCredentials,
    socket_id: str,
    channel_name: str,
    kind: ChannelKind,
    channel_data: str | None,
) -> dict[str, str]:
    """``{"auth"}``, plus ``channel_data`` for presence and ``shared_secret`` for encrypted.

    Raises:
        ValueError: an encrypted channel without a configured master key (§5.3).
    """
    signed_data = channel_data if kind is ChannelKind.PRESENCE else None
    token = sign_token(
        credentials.key,
        credentials.secret.reveal(),
        channel_string_to_sign(socket_id, channel_name, signed_data),
    )
    body = {"auth": token}
    if signed_data is not None:
        body["channel_data"] = signed_data
    if kind is ChannelKind.ENCRYPTED:
        master_key = credentials.master_key()
        if master_key is None:
            raise ValueError("encrypted channels need an encryption master key")
        body["shared_secret"] = encrypted_shared_secret(channel_name, master_key)
    return body


def user_auth_body(
    *, credentials: AppCredentials, socket_id: str, user_data: str
) -> dict[str, str]:
    """``{"auth", "user_data"}`` for ``pusher:signin`` (§5.4, §14.5)."""
    token = sign_token(
        credentials.key, credentials.secret.reveal(), user_string_to_sign(socket_id, user_data)
    )
    return {"auth": token, "user_data": user_data}
