"""State adapters: where channels, subscriptions and presence members live."""

from __future__ import annotations

from pusherd.adapters.base import Adapter, ChannelStats, JoinResult, LeaveResult, Subscriber
from pusherd.adapters.local import LocalAdapter

__all__ = ["Adapter", "ChannelStats", "JoinResult", "LeaveResult", "LocalAdapter", "Subscriber"]
