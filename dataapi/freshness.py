"""Freshness on the wire (issue 11 item 4): strong ETags, ``Cache-Control``, 304, gzip.

The body is encoded once with orjson and hashed; the ETag is the hash, so equal data gives an
equal tag on every node. A gzip-coded body is a different representation and gets its own strong
tag (the identity tag with ``-gz``), while ``If-None-Match`` with either tag matches the data
(RFC 9110 §8.8.3, §13.1.2). Large bodies are gzipped when the client accepts it; small ones are
not worth the CPU.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Mapping

from starlette.responses import Response

__all__ = ["GZIP_MIN_BYTES", "entity_tag", "is_not_modified", "json_response"]

GZIP_MIN_BYTES = 1024
MEDIA_TYPE = "application/json"


def entity_tag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _gzip_tag(tag: str) -> str:
    return tag[:-1] + '-gz"'


def is_not_modified(if_none_match: str | None, tag: str) -> bool:
    if if_none_match is None:
        return False
    candidates = {part.strip().removeprefix("W/") for part in if_none_match.split(",")}
    return "*" in candidates or tag in candidates or _gzip_tag(tag) in candidates


def _accepts_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def json_response(
    body: bytes,
    *,
    request_headers: Mapping[str, str],
    max_age_s: int,
    headers: Mapping[str, str],
) -> Response:
    """200 with ``body`` (gzipped when large and accepted), or 304 when the client has it."""
    tag = entity_tag(body)
    out = {
        **headers,
        "Cache-Control": f"private, max-age={max_age_s}",
        "Vary": "Accept-Encoding, Authorization, X-API-Key",
    }
    is_gzip = len(body) >= GZIP_MIN_BYTES and _accepts_gzip(
        request_headers.get("accept-encoding", "")
    )
    out["ETag"] = _gzip_tag(tag) if is_gzip else tag
    if is_not_modified(request_headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=out)
    if is_gzip:
        out["Content-Encoding"] = "gzip"
        body = gzip.compress(body, compresslevel=5)
    return Response(body, media_type=MEDIA_TYPE, headers=out)
