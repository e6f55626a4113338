"""A subscriber that stops reading is dropped; the others keep receiving everything (house style
§4 slow-consumer policy, ``max_pending_bytes``)."""

from __future__ import annotations

import asyncio
import json
import struct

from tests.conftest import StartPusherd
from tests.pusherd.http.api import assert_json_success, signed_request
from tests.pusherd.transport.wsclient import RawSocket, open_socket

BATCHES = 7
PER_BATCH = 10
#: 7 × 10 × 90 KB = 6.3 MB: more than loopback socket buffers hold (tcp_wmem max is 4 MB), so
#: the server's own write buffer must pass ``max_pending_bytes``.
PAYLOAD = 90_000


async def test_slow_consumer_is_dropped_while_others_receive_everything(
    start_pusherd: StartPusherd,
) -> None:
    """A socket that stops reading while 6.3 MB are published is disconnected once 64 KiB are
    pending for it; a reading subscriber of the same channel receives all 70 events in order."""
    server = await start_pusherd(max_pending_bytes=64 * 1024, max_message_size_bytes=100_000)
    async with (
        open_socket(server, max_size=None) as good,
        await RawSocket.connect(server, rcvbuf=4096) as slow,
    ):
        await slow.recv_json()
        slow.send_json({"event": "pusher:subscribe", "data": {"auth": "", "channel": "firehose"}})
        assert (await slow.recv_json())["event"] == "pusher_internal:subscription_succeeded"
        await good.subscribed("firehose")

        async def publish() -> None:
            for batch in range(BATCHES):
                items = [
                    {
                        "channel": "firehose",
                        "name": "tick",
                        "data": f"{batch * PER_BATCH + index:06d}" + "x" * PAYLOAD,
                    }
                    for index in range(PER_BATCH)
                ]
                response = await signed_request(
                    server, "POST", f"/apps/{server.app_id}/batch_events", {"batch": items}
                )
                assert_json_success(response)

        async def receive_all() -> list[int]:
            numbers = []
            for _ in range(BATCHES * PER_BATCH):
                frame = await good.recv(timeout=10.0)
                numbers.append(int(frame["data"][:6]))
            return numbers

        numbers, _ = await asyncio.wait_for(asyncio.gather(receive_all(), publish()), 60)
        assert numbers == list(range(BATCHES * PER_BATCH))

        # Now the slow socket reads again: it finds the end of its connection, not the full
        # stream (a 4200 close frame if it was still buffered, else just EOF/reset).
        received = 0
        close_code = None
        while True:
            try:
                opcode, payload = await slow.recv_frame(timeout=10.0)
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            if opcode == 0x8:
                close_code = struct.unpack("!H", payload[:2])[0]
                break
            frame = json.loads(payload)
            if frame["event"] == "tick":
                received += 1
            else:
                assert frame["event"] == "pusher:error" and frame["data"]["code"] == 4200, frame
        assert received < BATCHES * PER_BATCH, received
        assert close_code in (None, 4200), close_code
        await good.ping()
