"""HMAC-SHA256 signatures of the Pusher protocol, computed and verified over exact bytes.

Every signature is lowercase hex HMAC-SHA256 keyed with the app secret (reference §5). The
strings are signed exactly as received: re-serialising ``channel_data`` or ``user_data`` would
change the bytes (PHP escapes ``/``, Python adds spaces), so nothing here parses JSON.
Comparisons use :func:`hmac.compare_digest` so that timing reveals nothing about the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

__all__ = [
    "EMPTY_BODY_MD5",
    "body_md5",
    "channel_string_to_sign",
    "encrypted_shared_secret",
    "http_string_to_sign",
    "sign",
    "sign_token",
    "user_string_to_sign",
    "verify_token",
]

#: MD5 of the empty body, which the Python SDK adds to every GET (reference §5.5).
EMPTY_BODY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def sign(secret: str, message: str) -> str:
    """Lowercase hex HMAC-SHA256 of ``message`` (UTF-8) keyed with ``secret``."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def channel_string_to_sign(socket_id: str, channel_name: str, channel_data: str | None) -> str:
    """``socket_id:channel`` for private channels, ``…:channel_data`` for presence (§5.1, §5.2)."""
    if channel_data is None:
        return f"{socket_id}:{channel_name}"
    return f"{socket_id}:{channel_name}:{channel_data}"


def user_string_to_sign(socket_id: str, user_data: str) -> str:
    """``socket_id::user::user_data``, the signin string of §5.4."""
    return f"{socket_id}::user::{user_data}"


def sign_token(key: str, secret: str, string_to_sign: str) -> str:
    """The ``<app key>:<hex signature>`` token an auth endpoint returns to the client."""
    return f"{key}:{sign(secret, string_to_sign)}"


def verify_token(token: str, *, key: str, secret: str, string_to_sign: str) -> bool:
    """Whether ``token`` is ``<key>:<signature of string_to_sign>``.

    The key part must equal the app key (checklist 17) and the signature is compared in constant
    time. A token signed for another socket fails because the socket id is part of the string.
    """
    token_key, sep, signature = token.partition(":")
    expected = sign(secret, string_to_sign)
    # Evaluate both comparisons so the time taken does not depend on which one failed.
    is_key_ok = hmac.compare_digest(token_key.encode(), key.encode())
    is_sig_ok = hmac.compare_digest(signature.encode(), expected.encode())
    return bool(sep) and is_key_ok and is_sig_ok


def body_md5(body: bytes) -> str:
    """Lowercase hex MD5 of a request body, the ``body_md5`` query parameter (§5.5)."""
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


def http_string_to_sign(method: str, path: str, params: Iterable[tuple[str, str]]) -> str:
    """``METHOD\\nPATH\\nQUERY`` with the query sorted by lower-cased key, unescaped (§5.5).

    ``auth_signature`` is left out; repeated keys (PHP's ``channels[]=a&channels[]=b``, or
    Guzzle's ``channels[0]=a&channels[1]=b``) are joined with ``,`` under the bare key
    (``channels=a,b``), as pusher-php's ``array_implode`` signs its ``['channels' => [...]]``.
    """
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        lowered = name.lower()
        if lowered == "auth_signature":
            continue
        bracket = lowered.find("[")
        if bracket > 0 and lowered.endswith("]"):
            lowered = lowered[:bracket]
        grouped.setdefault(lowered, []).append(value)
    query = "&".join(f"{name}={','.join(grouped[name])}" for name in sorted(grouped))
    return f"{method.upper()}\n{path}\n{query}"


def encrypted_shared_secret(channel_name: str, master_key: bytes) -> str:
    """base64(SHA-256(channel name ‖ master key)), the per-channel key of §5.3."""
    digest = hashlib.sha256(channel_name.encode() + master_key).digest()
    return base64.b64encode(digest).decode()
