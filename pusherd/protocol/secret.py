"""A string that never shows itself: app secrets, API keys, upstream keys, master keys.

Everything secret travels inside :class:`Secret`; only the code that needs the value calls
:meth:`Secret.reveal`, so a repr, a log line, a traceback or a test failure shows stars. It lives
in the protocol package because the server, the auth service and the poller all need it and the
latter two may import only ``pusherd.protocol``. Modelled on starlette's ``config.Secret``.
"""

from __future__ import annotations

__all__ = ["Secret"]


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
