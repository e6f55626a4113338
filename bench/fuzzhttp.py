"""Seeded mutated HTTP requests for the black-box fuzzer (issue 10): see :mod:`bench.fuzzgen`.

Signed and unsigned requests to every API route (and a few others), with mutated queries
(dropped, doubled or tampered parameters, absurd timestamps), bodies (junk JSON, deep nesting,
random bytes, oversized batches) and framing (``Content-Length``, chunked, a bad chunk, a body
shorter than declared), and some junk heads.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import orjson

from bench.fuzzgen import FuzzGenerator
from pusherd.protocol.signatures import http_string_to_sign, sign

__all__ = ["HttpCase", "HttpFuzzer"]


@dataclass(frozen=True, slots=True)
class HttpCase:
    request: bytes
    #: Whether a complete answer is due (False for deliberately unfinished requests).
    expects_answer: bool
    kind: str


class HttpFuzzer:
    """Requests for the app of ``base``, drawing from its random generator."""

    def __init__(self, base: FuzzGenerator) -> None:
        self._base = base
        self.rng = base.rng

    def _signed_query(self, method: str, path: str, body: bytes) -> list[tuple[str, str]]:
        params = [
            ("auth_key", self._base.key),
            ("auth_timestamp", str(int(self._base.now()))),
            ("auth_version", "1.0"),
        ]
        if body:
            params.append(("body_md5", hashlib.md5(body, usedforsecurity=False).hexdigest()))
        signature = sign(self._base.secret, http_string_to_sign(method, path, params))
        return [*params, ("auth_signature", signature)]

    def _mutate_query(self, params: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], str]:
        rng = self.rng
        roll = rng.randint(0, 7)
        if roll == 0 and params:
            params.pop(rng.randrange(len(params)))
            return params, "query-dropped"
        if roll == 1:
            value = rng.choice(["9" * 5000, str(10**20), "-1", "1e9", "²", ""])
            return [(n, value if n == "auth_timestamp" else v) for n, v in params], "timestamp"
        if roll == 2:
            return [*params, *params], "query-doubled"
        if roll == 3:
            return [(n, v + "0") for n, v in params], "query-tampered"
        if roll == 4:
            return [*params, ("channels[]", self._base.channel_name()[:100])], "query-extra"
        return params, "signed"

    def _api_body(self) -> bytes:
        rng = self.rng
        roll = rng.randint(0, 6)
        channel = self._base.channel_name()[:300]
        if roll == 0:
            return orjson.dumps({"name": "e", "data": "d", "channel": channel})
        if roll == 1:
            batch = [
                {
                    "name": "e",
                    "data": rng.choice(["{}", "x" * rng.randint(0, 20_000)]),
                    "channel": self._base.channel_name()[:300],
                }
                for _ in range(rng.randint(0, 12))
            ]
            return orjson.dumps({"batch": batch})
        if roll == 2:
            return orjson.dumps(
                {
                    "name": self._base.junk_json(),
                    "data": self._base.junk_json(),
                    "channels": self._base.junk_json(),
                }
            )
        if roll == 3:
            return orjson.dumps(self._base.junk_json())
        if roll == 4:
            return b"[" * rng.randint(1, 50_000)
        if roll == 5:
            return rng.randbytes(rng.randint(0, 2000))
        return orjson.dumps({"name": "e", "data": "d", "channels": ["c"] * rng.randint(0, 300)})

    def _target(self) -> tuple[str, str]:
        rng = self.rng
        app = (
            self._base.app_id
            if rng.random() < 0.85
            else rng.choice(["0", "x" * 300, "%00", "1/.."])
        )
        channel = quote(self._base.channel_name()[:500], safe="")
        return rng.choice(
            [
                ("POST", f"/apps/{app}/events"),
                ("POST", f"/apps/{app}/events"),
                ("POST", f"/apps/{app}/batch_events"),
                ("GET", f"/apps/{app}/channels"),
                ("GET", f"/apps/{app}/channels/{channel}"),
                ("GET", f"/apps/{app}/channels/{channel}/users"),
                ("POST", f"/apps/{app}/users/{channel}/terminate_connections"),
                ("GET", "/up"),
                ("GET", "/metrics"),
                ("POST", "/broadcasting/auth"),
                ("GET", f"/app/{self._base.key}"),
                (rng.choice(["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]), f"/apps/{app}/events"),
            ]
        )

    def _frame_body(self, head: bytes, body: bytes) -> tuple[bytes, bool, str]:
        rng = self.rng
        roll = rng.randint(0, 9)
        if roll <= 4:
            return head + b"Content-Length: %d\r\n\r\n" % len(body) + body, True, "length"
        if roll <= 7:
            chunks = []
            position = 0
            while position < len(body):
                size = rng.randint(1, 4096)
                chunks.append(b"%x\r\n" % len(body[position : position + size]))
                chunks.append(body[position : position + size] + b"\r\n")
                position += size
            framed = head + b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(chunks) + b"0\r\n\r\n"
            return framed, True, "chunked"
        if roll == 8:
            bad = head + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + body[:10] + b"\r\n"
            return bad, True, "bad-chunk"
        declared = len(body) + rng.randint(1, 100)
        return head + b"Content-Length: %d\r\n\r\n" % declared + body, False, "short-body"

    def case(self) -> HttpCase:
        rng = self.rng
        if rng.random() < 0.08:
            junk = rng.choice(
                [
                    rng.randbytes(rng.randint(1, 300)) + b"\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: \x00\x01\r\n\r\n",
                    b"GET /" + b"%" * rng.randint(1, 2000) + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET / HTTP/9.9\r\n\r\n",
                    b"GET /up HTTP/1.0\r\n\r\n",
                ]
            )
            return HttpCase(junk, True, "junk-head")
        method, path = self._target()
        body = self._api_body() if method in ("POST", "PUT", "PATCH") else b""
        params = self._signed_query(method, path, body)
        kind = "unsigned"
        if rng.random() < 0.85:
            params, kind = self._mutate_query(params)
        else:
            params = []
        query = urlencode(params)
        target = f"{path}?{query}" if query else path
        head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if body or rng.random() < 0.5:
            head += "Content-Type: application/json\r\n"
        framed, expects_answer, framing = self._frame_body(head.encode(), body)
        return HttpCase(framed, expects_answer and method != "HEAD", f"{kind}/{framing}")
