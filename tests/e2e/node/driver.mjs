// One long-lived process per test, steered by tests/e2e/node_driver.py over JSON lines
// (see lib/io.mjs for the framing). It holds any number of named pusher-js / Echo clients and
// one Node `pusher` SDK configured for the server under test.

import { cancelPendingAuth, requireSdk, resolveAuth, setupSdk } from './lib/auth.mjs';
import {
  createEcho,
  createPusher,
  disconnectAll,
  echoOn,
  echoWhisper,
  getClient,
  versions,
} from './lib/clients.mjs';
import { serve } from './lib/io.mjs';

function channelOf(client, channelName) {
  const channel = getClient(client).pusher.channel(channelName);
  if (!channel) throw new Error(`client ${client} has no channel ${channelName}`);
  return channel;
}

async function sdkTrigger({ channels, event, data, params = undefined }) {
  try {
    const response = await requireSdk().trigger(channels, event, data, params);
    return { status: response.status, body: await response.text() };
  } catch (err) {
    // pusher.RequestError: a non-2xx answer or a network failure.
    return { status: err.status ?? null, body: err.body ?? null, error: String(err.message) };
  }
}

let exiting = false;
function shutdown() {
  if (exiting) return { ok: true };
  exiting = true;
  cancelPendingAuth();
  disconnectAll();
  // Let the close frames go out, then leave even if a timer (pusher-js retry) is pending.
  setTimeout(() => process.exit(0), 50).unref();
  setTimeout(() => process.exit(0), 500);
  return { ok: true };
}

const handlers = {
  hello: () => versions,
  sdk_setup: (m) => setupSdk(m),
  sdk_trigger: (m) => sdkTrigger(m),
  auth_response: (m) => resolveAuth(m),
  create_pusher: (m) => createPusher(m),
  create_echo: (m) => createEcho(m),
  subscribe: ({ client, channel }) => {
    getClient(client).pusher.subscribe(channel);
    return { ok: true };
  },
  unsubscribe: ({ client, channel }) => {
    getClient(client).pusher.unsubscribe(channel);
    return { ok: true };
  },
  client_trigger: ({ client, channel, event, data, repeat = 1 }) => {
    // `repeat` sends the same client event several times in one tick (rate-limit checks).
    const target = channelOf(client, channel);
    let sent = true;
    for (let i = 0; i < repeat; i += 1) sent = target.trigger(event, data) && sent;
    return { sent };
  },
  send_raw: ({ client, raw }) => ({ sent: getClient(client).pusher.connection.send(raw) }),
  members: ({ client, channel }) => {
    const { members } = channelOf(client, channel);
    return { count: members.count, me: members.me, members: members.members };
  },
  state: ({ client }) => {
    const { connection } = getClient(client).pusher;
    return { state: connection.state, socket_id: connection.socket_id ?? null };
  },
  disconnect: ({ client }) => {
    getClient(client).pusher.disconnect();
    return { ok: true };
  },
  connect: ({ client }) => {
    getClient(client).pusher.connect();
    return { ok: true };
  },
  echo_on: (m) => echoOn(m),
  echo_whisper: (m) => echoWhisper(m),
  echo_socket_id: ({ client }) => ({ socket_id: getClient(client).echo.socketId() ?? null }),
  echo_leave: ({ client, name }) => {
    getClient(client).echo.leave(name);
    return { ok: true };
  },
  shutdown: () => shutdown(),
};

process.on('uncaughtException', (err) => {
  process.stderr.write(`[driver] uncaught: ${err?.stack ?? err}\n`);
});
process.on('unhandledRejection', (err) => {
  process.stderr.write(`[driver] unhandled rejection: ${err?.stack ?? err}\n`);
});

serve(handlers, shutdown);
