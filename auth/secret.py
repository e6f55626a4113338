"""A wrapper that keeps secrets out of logs, reprs, tracebacks and test output.

API keys, the app secret and the encryption master key travel inside :class:`Secret`; only the
code that really needs the value calls :meth:`Secret.reveal`. Modelled on starlette's
``config.Secret``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Secret"]


@dataclass(frozen=True, slots=True)
class Secret:
    """A string that prints as ``Secret('**********')``."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __bool__(self) -> bool:
        return bool(self._value)
