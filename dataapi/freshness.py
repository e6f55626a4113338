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

__all__ = [
    "GZIP_MIN_BYTES",
    "RawHeaders",
    "Representation",
    "entity_tag",
    "is_not_modified",
    "json_response",
]

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


#: Headers every representation carries; ``Vary`` because the answer depends on the key (rate
#: fields, tier) and on the coding.
_VARY = (b"vary", b"Accept-Encoding, Authorization, X-API-Key")
_JSON = (b"content-type", MEDIA_TYPE.encode())
RawHeaders = list[tuple[bytes, bytes]]


class Representation:
    """One encoded body with its strong tags and header lines, built once per data version.

    The hot path answers from this without re-encoding or re-hashing: a resource that returns
    the same payload object (the live list while the cache holds the same bytes) is encoded,
    hashed and, when first asked for, gzipped once.
    """

    __slots__ = ("_gzip", "_gzip_tag", "_head", "body", "tag")

    def __init__(self, body: bytes, max_age_s: int) -> None:
        self.body = body
        self.tag = entity_tag(body)
        self._gzip_tag = _gzip_tag(self.tag)
        self._gzip: bytes | None = None
        self._head: RawHeaders = [
            (b"cache-control", f"private, max-age={max_age_s}".encode()),
            _VARY,
        ]

    def _gzipped(self) -> bytes:
        if self._gzip is None:
            self._gzip = gzip.compress(self.body, compresslevel=5)
        return self._gzip

    def answer(
        self, if_none_match: str | None, accept_encoding: str
    ) -> tuple[int, RawHeaders, bytes]:
        """Status, header lines (without the caller's own) and body for one request."""
        is_gzip = len(self.body) >= GZIP_MIN_BYTES and _accepts_gzip(accept_encoding)
        tag = self._gzip_tag if is_gzip else self.tag
        head = [*self._head, (b"etag", tag.encode())]
        if if_none_match is not None and (
            if_none_match == tag or is_not_modified(if_none_match, self.tag)
        ):
            return 304, head, b""
        body = self._gzipped() if is_gzip else self.body
        if is_gzip:
            head.append((b"content-encoding", b"gzip"))
        head += [_JSON, (b"content-length", str(len(body)).encode())]
        return 200, head, body
