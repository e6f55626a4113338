// pusher-js and Laravel Echo clients, instrumented so that every state change, connection error,
// raw frame in and out, channel event (with pusher-js metadata) and Echo callback becomes an
// observation line for the Python side.

import { readFileSync } from 'node:fs';
import Echo from 'laravel-echo';
import PusherJs from 'pusher-js';
import { customHandler, echoAuthorizer, userHandler } from './auth.mjs';
import { observe } from './io.mjs';

function installedVersion(pkg) {
  const url = new URL(`../node_modules/${pkg}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')).version;
}

export const versions = {
  node: process.version,
  'pusher-js': installedVersion('pusher-js'),
  'laravel-echo': installedVersion('laravel-echo'),
  pusher: installedVersion('pusher'),
};

// pusher-js logs (warnings included) go to stderr, never to the JSON-lines stdout.
PusherJs.log = (message) => process.stderr.write(`[pusher-js] ${message}\n`);

const clients = new Map();

function summariseError(err) {
  if (!err || typeof err !== 'object') return { message: String(err) };
  const out = { type: err.type ?? null };
  if (err.data !== undefined) out.data = err.data;
  if (err.error !== undefined) {
    const inner = err.error;
    if (inner && typeof inner === 'object') {
      out.error = {
        type: inner.type ?? null,
        data: inner.data ?? null,
        message: inner.message ?? null,
      };
    } else out.error = inner;
  }
  return out;
}

/** Hook the transport of a freshly connected socket: raw frames both ways and the close code. */
function hookTransport(name, manager) {
  const transport = manager.connection?.transport;
  if (!transport || transport.__e2eHooked) return;
  transport.__e2eHooked = true;
  const socketId = manager.socket_id;
  const send = transport.send.bind(transport);
  transport.send = (data) => {
    observe('frame_out', { client: name, socket_id: socketId, raw: String(data) });
    return send(data);
  };
  // Wrap emit (not bind) so that the raw frame and the close code are observed *before*
  // pusher-js reacts to them: a test that saw the reaction can rely on seeing the frame.
  const emit = transport.emit.bind(transport);
  transport.emit = (event, payload) => {
    if (event === 'message') {
      observe('frame_in', { client: name, socket_id: socketId, raw: String(payload?.data) });
    } else if (event === 'closed') {
      observe('closed', {
        client: name,
        socket_id: socketId,
        code: payload?.code ?? null,
        reason: payload?.reason ?? null,
      });
    }
    return emit(event, payload);
  };
}

function patchChannel(name, channel) {
  if (channel.__e2ePatched) return channel;
  channel.__e2ePatched = true;
  const emit = channel.emit.bind(channel);
  channel.emit = (event, data, metadata) => {
    observe('channel_event', {
      client: name,
      channel: channel.name,
      event,
      data: data ?? null,
      metadata: metadata ?? null,
    });
    return emit(event, data, metadata);
  };
  return channel;
}

function instrument(name, pusher) {
  const manager = pusher.connection;
  manager.bind('state_change', ({ previous, current }) => {
    if (current === 'connected') hookTransport(name, manager);
    observe('state', { client: name, previous, current, socket_id: manager.socket_id ?? null });
  });
  manager.bind('connecting_in', (delay) => observe('connecting_in', { client: name, delay_s: delay }));
  manager.bind('error', (err) => observe('conn_error', { client: name, error: summariseError(err) }));
  const subscribe = pusher.subscribe.bind(pusher);
  pusher.subscribe = (channelName) => patchChannel(name, subscribe(channelName));
  // The constructor already started connecting: report where it stands now.
  observe('state', { client: name, previous: null, current: manager.state, socket_id: null });
  if (manager.state === 'connected') hookTransport(name, manager);
}

function register(name, entry) {
  if (clients.has(name)) throw new Error(`client ${name} exists`);
  clients.set(name, entry);
}

export function getClient(name) {
  const entry = clients.get(name);
  if (!entry) throw new Error(`no client ${name}`);
  return entry;
}

/** `userAuthentication` for `pusher.signin()`, signed by `userSigner` over `userData`. */
function userAuthentication(client, userSigner, userData) {
  // `headers` too: Echo 2.5 writes its bearerToken into userAuthentication.headers and
  // throws when an app's own userAuthentication has none.
  return { customHandler: userHandler(client, userSigner, userData), headers: {} };
}

/**
 * new Pusher(key, options) with channelAuthorization.customHandler signed by `signer` and
 * userAuthentication.customHandler signed by `user_signer` over `user_data`. The Node build of
 * pusher-js 8 is its encryption build (PusherWithEncryption, tweetnacl bundled), so
 * private-encrypted- channels work without another import.
 */
export function createPusher({
  client,
  key,
  options,
  signer = 'none',
  user = null,
  user_signer = 'none',
  user_data = null,
}) {
  // signer 'endpoint': the client's own options (authEndpoint, channelAuthorization with
  // headers) reach a real HTTP auth endpoint, as in a browser.
  const auth =
    signer === 'endpoint'
      ? {}
      : { channelAuthorization: { customHandler: customHandler(client, signer, user) } };
  const pusher = new PusherJs(key, {
    ...options,
    ...auth,
    userAuthentication: userAuthentication(client, user_signer, user_data),
  });
  register(client, { pusher, echo: null });
  instrument(client, pusher);
  return { state: pusher.connection.state };
}

/**
 * new Echo({broadcaster, key, Pusher, authorizer, userAuthentication, ...options}); broadcaster
 * 'pusher' or 'reverb'. Echo hands its options to pusher-js, userAuthentication included.
 */
export function createEcho({
  client,
  broadcaster,
  key,
  options,
  signer = 'none',
  user = null,
  user_signer = 'none',
  user_data = null,
}) {
  // signer 'endpoint': Echo's own authEndpoint and bearerToken reach a real HTTP endpoint.
  const auth = signer === 'endpoint' ? {} : { authorizer: echoAuthorizer(client, signer, user) };
  const echo = new Echo({
    ...options,
    broadcaster,
    key,
    Pusher: PusherJs,
    ...auth,
    userAuthentication: userAuthentication(client, user_signer, user_data),
  });
  const pusher = echo.connector.pusher;
  register(client, { pusher, echo });
  instrument(client, pusher);
  return { state: pusher.connection.state };
}

export function disconnectAll() {
  for (const { pusher } of clients.values()) pusher.disconnect();
}

const echoKinds = {
  channel: 'channel',
  private: 'private',
  join: 'join',
  encryptedPrivate: 'encryptedPrivate',
};

function echoChannel(entry, kind, channelName) {
  if (!entry.echo) throw new Error('not an Echo client');
  const method = echoKinds[kind];
  if (!method) throw new Error(`unknown Echo channel kind ${kind}`);
  return entry.echo[method](channelName);
}

/** Register an Echo callback: listen / listenForWhisper / here / joining / leaving / error / subscribed. */
export function echoOn({ client, kind, name, method, event = null }) {
  const channel = echoChannel(getClient(client), kind, name);
  const report = (...args) =>
    observe('echo', { client, channel: channel.name, method, event, args });
  if (method === 'listen' || method === 'listenForWhisper') channel[method](event, report);
  else if (['here', 'joining', 'leaving', 'error', 'subscribed'].includes(method)) {
    channel[method](report);
  } else throw new Error(`unknown Echo method ${method}`);
  return { channel: channel.name };
}

export function echoWhisper({ client, kind, name, event, data }) {
  const channel = echoChannel(getClient(client), kind, name);
  channel.whisper(event, data);
  return { channel: channel.name };
}

/** `pusher.user.bind(event, cb)`: server-to-user events and `pusher:signin_error`. */
export function userBind({ client, event }) {
  getClient(client).pusher.user.bind(event, (data) =>
    observe('user_event', { client, event, data: data ?? null }),
  );
  return { ok: true };
}

/** `pusher.user.watchlist.bind(event, cb)` for `online` / `offline` (reference §2.13). */
export function watchlistBind({ client, event }) {
  getClient(client).pusher.user.watchlist.bind(event, (data) =>
    observe('watchlist_event', { client, event, data: data ?? null }),
  );
  return { ok: true };
}

/** What pusher-js believes about its signin: `user.user_data` and the #server-to-user channel. */
export function userState({ client }) {
  const { user } = getClient(client).pusher;
  const channel = user.serverToUserChannel;
  return {
    user_data: user.user_data ?? null,
    server_to_user: channel
      ? { name: channel.name, subscribed: channel.subscribed, pending: channel.subscriptionPending }
      : null,
  };
}

/** `channel.bind(event, cb)` on a subscribed channel (cache_miss, subscription_count, ...). */
export function channelBind({ client, channel, event }) {
  const target = getClient(client).pusher.channel(channel);
  if (!target) throw new Error(`client ${client} has no channel ${channel}`);
  target.bind(event, (data, metadata) =>
    observe('bound', { client, channel, event, data: data ?? null, metadata: metadata ?? null }),
  );
  return { ok: true };
}

/** The channel's own view: subscribed and the `subscriptionCount` pusher-js keeps (§2.15). */
export function channelState({ client, channel }) {
  const target = getClient(client).pusher.channel(channel);
  if (!target) throw new Error(`client ${client} has no channel ${channel}`);
  return {
    subscribed: target.subscribed,
    subscription_count: target.subscriptionCount ?? null,
  };
}
