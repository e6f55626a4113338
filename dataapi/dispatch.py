"""A direct dispatcher in front of the data API's Starlette app, for the hot path.

Starlette's app costs a cached read about as much again as the whole gate: two middleware
layers, a ``Request`` per route tried and a regex per route in order. The data API's routes
are few and fixed, so a ``GET``/``HEAD`` whose path matches one of them goes straight to its
gate (one regex over the alternatives, path parameters as Starlette would give them); every
other request (an unknown path, another method, the OpenAPI document) goes to the Starlette
app unchanged, which answers it exactly as before.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.types import Receive, Scope, Send

__all__ = ["FastDispatch"]

AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_PARAMETER = re.compile(r"{([a-z_]+)}")


def _pattern(path: str) -> str:
    """A route path as a regex; parameters match one segment, like Starlette's ``str``."""
    parts = _PARAMETER.split(path)
    out = []
    for n, part in enumerate(parts):
        out.append(f"(?P<{part}>[^/]+)" if n % 2 else re.escape(part))
    return "".join(out)


class FastDispatch:
    """``(path, gate)`` pairs answered directly; everything else goes to ``fallback``."""

    def __init__(self, routes: Sequence[tuple[str, AsgiApp]], fallback: Any) -> None:
        self._fallback = fallback
        self._exact: dict[str, AsgiApp] = {}
        self._patterns: list[tuple[re.Pattern[str], AsgiApp]] = []
        for path, app in routes:
            if "{" in path:
                self._patterns.append((re.compile(_pattern(path) + r"\Z"), app))
            else:
                self._exact[path] = app

    @property
    def routes(self) -> Any:
        """The fallback's route table (what a ``Mount`` shows)."""
        return self._fallback.routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            app = self._exact.get(path)
            if app is not None:
                scope["path_params"] = {}
                await app(scope, receive, send)
                return
            for pattern, app in self._patterns:
                found = pattern.match(path)
                if found is not None:
                    scope["path_params"] = found.groupdict()
                    await app(scope, receive, send)
                    return
        await self._fallback(scope, receive, send)
