// One long-lived process per test, steered by tests/e2e/node_driver.py over JSON lines
// (see lib/io.mjs for the framing). It holds any number of named pusher-js / Echo clients and
// one Node `pusher` SDK configured for the server under test.

import { cancelPendingAuth, requireSdk, resolveAuth, setupSdk } from './lib/auth.mjs';
import {
  channelBind,
  channelState,
  createEcho,
  createPusher,
  disconnectAll,
  echoOn,
  echoWhisper,
  getClient,
  userBind,
  userState,
  versions,
  watchlistBind,
} from './lib/clients.mjs';
import { serve } from './lib/io.mjs';

function channelOf(client, channelName) {
  const channel = getClient(client).pusher.channel(channelName);
  if (!channel) throw new Error(`client ${client} has no channel ${channelName}`);
  return channel;
}

/** Await one Node SDK request and report `{status, body}`, also for non-2xx answers. */
async function sdkCall(request) {
  try {
    const response = await request();
    return { status: response.status, body: await response.text() };
  } catch (err) {
    // pusher.RequestError: a non-2xx answer or a network failure.
    return { status: err.status ?? null, body: err.body ?? null, error: String(err.message) };
  }
}

function sdkTrigger({ channels, event, data, params = undefined }) {
  return sdkCall(() => requireSdk().trigger(channels, event, data, params));
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
  // Node SDK sendToUser (POST /events on #server-to-user-{id}) and terminateUserConnections.
  sdk_send_to_user: ({ user_id, event, data }) =>
    sdkCall(() => requireSdk().sendToUser(user_id, event, data)),
  sdk_terminate: ({ user_id }) => sdkCall(() => requireSdk().terminateUserConnections(user_id)),
  // Signed requests the SDK's helpers refuse to build (encrypted + other channels, I66).
  sdk_post: ({ path, body }) => sdkCall(() => requireSdk().post({ path, body })),
  sdk_get: ({ path, params = undefined }) => sdkCall(() => requireSdk().get({ path, params })),
  auth_response: (m) => resolveAuth(m),
  create_pusher: (m) => createPusher(m),
  create_echo: (m) => createEcho(m),
  subscribe: ({ client, channel, bind = [] }) => {
    getClient(client).pusher.subscribe(channel);
    // Bound in the same tick, before any reply to the subscribe can arrive.
    for (const event of bind) channelBind({ client, channel, event });
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
  signin: ({ client }) => {
    getClient(client).pusher.signin();
    return { ok: true };
  },
  user_bind: (m) => userBind(m),
  watchlist_bind: (m) => watchlistBind(m),
  user_state: (m) => userState(m),
  channel_bind: (m) => channelBind(m),
  channel_state: (m) => channelState(m),
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
  // Echo 2.5 exposes signin on the connector only: Echo.connector.signin() -> pusher.signin().
  echo_signin: ({ client }) => {
    getClient(client).echo.connector.signin();
    return { ok: true };
  },
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
