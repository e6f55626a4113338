"""Per-app limits and switches the protocol enforces, with Pusher's defaults (reference §9.8)."""

from __future__ import annotations

from dataclasses import dataclass

from pusherd.protocol.channels import DEFAULT_MAX_CHANNEL_NAME_LENGTH

__all__ = ["Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    client_events_enabled: bool = True
    client_event_rate_per_s: int = 10
    max_message_size_bytes: int = 10_240
    max_presence_members: int = 100
    max_presence_user_info_bytes: int = 1_024
    max_presence_user_id_length: int = 128
    max_channel_name_length: int = DEFAULT_MAX_CHANNEL_NAME_LENGTH
    max_event_name_length: int = 200
    max_channels_per_trigger: int = 100
    max_batch_size: int = 10
    max_channels_per_connection: int = 1_000
