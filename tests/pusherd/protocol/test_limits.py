"""Per-app limits default to Pusher's documented values (reference §6.4, §7, §9.8)."""

from __future__ import annotations

from pusherd.protocol.limits import Limits


def test_defaults_are_pushers_documented_limits() -> None:
    limits = Limits()
    assert limits.client_events_enabled is True  # §7 rule 1: pusherd defaults on, for whisper
    assert limits.client_event_rate_per_s == 10  # §7 rule 6
    assert limits.max_message_size_bytes == 10_240  # §9.2: 10 KB
    assert limits.max_presence_members == 100  # §6.4
    assert limits.max_presence_user_info_bytes == 1_024  # §6.4
    assert limits.max_presence_user_id_length == 128  # §4.3
    assert limits.max_channel_name_length == 164  # §4.1
    assert limits.max_event_name_length == 200  # §4.2
    assert limits.max_channels_per_trigger == 100  # §9.2
    assert limits.max_batch_size == 10  # §9.3
