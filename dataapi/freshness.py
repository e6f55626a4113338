"""Freshness on the wire (issue 11 item 4): strong ETags, ``Cache-Control``, 304, gzip and br.

The body is encoded once with orjson and hashed; the ETag is the hash, so equal data gives an
equal tag on every node. A gzip- or brotli-coded body is a different representation and gets its
own strong tag (the identity tag with ``-gz`` / ``-br``), while ``If-None-Match`` with any of them
matches the data (RFC 9110 §8.8.3, §13.1.2). Large bodies are compressed when the client accepts
it (``br`` preferred at equal weight: smaller for JSON); small ones are not worth the CPU. Each
coding of one data version is computed once (:class:`Representation`) and reused by every
request until the data changes.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Mapping

import brotli
from starlette.responses import Response

__all__ = [
    "GZIP_MIN_BYTES",
    "RawHeaders",
    "Representation",
    "choose_coding",
    "entity_tag",
    "is_not_modified",
    "json_response",
]

GZIP_MIN_BYTES = 1024
MEDIA_TYPE = "application/json"
#: Content codings offered, best first at equal weight; their ETag suffixes.
_CODINGS = ("br", "gzip")
_SUFFIX = {"br": "-br", "gzip": "-gz"}
RawHeaders = list[tuple[bytes, bytes]]
#: Headers every representation carries; ``Vary`` because the answer depends on the key (rate
#: fields, tier) and on the coding.
_VARY = (b"vary", b"Accept-Encoding, Authorization, X-API-Key")
_JSON = (b"content-type", MEDIA_TYPE.encode())


def entity_tag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _coded_tag(tag: str, coding: str | None) -> str:
    return tag if coding is None else tag[:-1] + _SUFFIX[coding] + '"'


def is_not_modified(if_none_match: str | None, tag: str) -> bool:
    """``If-None-Match`` names this data in any coding (or is ``*``)."""
    if if_none_match is None:
        return False
    candidates = {part.strip().removeprefix("W/") for part in if_none_match.split(",")}
    if "*" in candidates or tag in candidates:
        return True
    return any(_coded_tag(tag, coding) in candidates for coding in _CODINGS)


def _weight(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


def choose_coding(accept_encoding: str) -> str | None:
    """The coding to send: the accepted one of ``br``/``gzip`` with the highest weight."""
    if not accept_encoding:
        return None
    weights: dict[str, float] = {}
    for part in accept_encoding.split(","):
        coding, _, params = part.strip().partition(";")
        weights[coding.strip().lower()] = _weight(params)
    best: str | None = None
    best_weight = 0.0
    for coding in _CODINGS:
        weight = weights.get(coding, weights.get("*", 0.0))
        if weight > best_weight:
            best, best_weight = coding, weight
    return best


class Representation:
    """One encoded body with its strong tags and header lines, built once per data version.

    The hot path answers from this without re-encoding or re-hashing: a resource that returns
    the same payload object (the live list while the cache holds the same bytes) is encoded,
    hashed and, when first asked for in a coding, compressed once.
    """

    __slots__ = ("_coded", "_head", "body", "tag")

    def __init__(self, body: bytes, max_age_s: int) -> None:
        self.body = body
        self.tag = entity_tag(body)
        self._coded: dict[str, bytes] = {}
        self._head: RawHeaders = [
            (b"cache-control", f"private, max-age={max_age_s}".encode()),
            _VARY,
        ]

    def coded(self, coding: str) -> bytes:
        body = self._coded.get(coding)
        if body is None:
            if coding == "br":
                body = brotli.compress(self.body, quality=5)
            else:
                body = gzip.compress(self.body, compresslevel=5)
            self._coded[coding] = body
        return body

    def answer(
        self, if_none_match: str | None, accept_encoding: str
    ) -> tuple[int, RawHeaders, bytes]:
        """Status, header lines (without the caller's own) and body for one request."""
        coding = choose_coding(accept_encoding) if len(self.body) >= GZIP_MIN_BYTES else None
        tag = _coded_tag(self.tag, coding)
        head = [*self._head, (b"etag", tag.encode())]
        if if_none_match is not None and (
            if_none_match == tag or is_not_modified(if_none_match, self.tag)
        ):
            return 304, head, b""
        body = self.body
        if coding is not None:
            body = self.coded(coding)
            head.append((b"content-encoding", coding.encode()))
        head += [_JSON, (b"content-length", str(len(body)).encode())]
        return 200, head, body


def json_response(
    body: bytes,
    *,
    request_headers: Mapping[str, str],
    max_age_s: int,
    headers: Mapping[str, str],
) -> Response:
    """200 with ``body`` (compressed when large and accepted), or 304 when the client has it."""
    status, head, content = Representation(body, max_age_s).answer(
        request_headers.get("if-none-match"), request_headers.get("accept-encoding", "")
    )
    response = Response(content, status_code=status)
    response.raw_headers = [
        *((name.lower().encode(), value.encode("latin-1")) for name, value in headers.items()),
        *head,
    ]
    return response
