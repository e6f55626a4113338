"""Reading a request body with a running limit (issue 10, item 3).

Starlette's ``await request.body()`` holds the whole body before anyone can look at its size, and
``Content-Length`` says nothing about a chunked body. Here every chunk is counted as it arrives
and the read stops at the first byte past the limit, so a refused body costs at most the limit
plus one chunk of memory.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request

from pusherd.protocol.errors import ApiError

__all__ = ["BodyIncomplete", "BodyTooLarge", "read_body"]


class BodyTooLarge(ApiError):
    """413: the body passed the limit; the rest of it is never held."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"Request body is larger than {max_bytes} bytes")


class BodyIncomplete(ApiError):
    """The client left (or was timed out) before its body was complete: nobody reads the answer,
    and it is the client's doing, so nothing is logged as an error."""

    def __init__(self) -> None:
        super().__init__(400, "The request body was not complete")


def _declared_length(request: Request) -> int | None:
    declared = request.headers.get("content-length")
    if declared is None or not (declared.isascii() and declared.isdigit()):
        return None
    digits = declared.lstrip("0") or "0"
    # int() refuses 4,300+ digits; anything past 18 is past every limit anyway.
    return int(digits) if len(digits) <= 18 else 10**18


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, refused as soon as it is known to pass ``max_bytes``.

    Raises:
        BodyTooLarge: a declared ``Content-Length`` or the bytes received so far pass the limit.
        BodyIncomplete: the connection closed before the body's end.
    """
    declared = _declared_length(request)
    if declared is not None and declared > max_bytes:
        raise BodyTooLarge(max_bytes)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise BodyTooLarge(max_bytes)
            chunks.append(chunk)
    except ClientDisconnect:
        raise BodyIncomplete from None
    return b"".join(chunks)
