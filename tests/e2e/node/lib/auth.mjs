// Channel authorization for pusher-js (channelAuthorization.customHandler) and Echo (authorizer).
//
// Signers:
//   "node"               the real Node `pusher` SDK, authorizeChannel(socketId, channel, presenceData)
//   "node-wrong-secret"  the same SDK configured with a wrong secret (server must refuse: B15)
//   "python"             the Python side signs with the PyPI `pusher` SDK (authenticate()); the driver
//                        emits an `auth_request` observation and waits for an `auth_response` command.
//   "none"               no signer: any auth attempt fails locally (public channels only)

import PusherSdk from 'pusher';
import { observe } from './io.mjs';

let sdk = null;
let sdkWrongSecret = null;
let nextRequest = 0;
const pending = new Map();

/** Configure the Node SDK instances (HTTP API triggers and channel auth) for one server. */
export function setupSdk({ app_id, key, secret, host, port }) {
  const base = { appId: String(app_id), key, host, port: String(port), useTLS: false, timeout: 10000 };
  sdk = new PusherSdk({ ...base, secret });
  sdkWrongSecret = new PusherSdk({ ...base, secret: `${secret}-wrong` });
  return { ok: true };
}

export function requireSdk() {
  if (!sdk) throw new Error('sdk_setup was not called');
  return sdk;
}

/** Answer a pending Python-signed request: {req, result} or {req, error}. */
export function resolveAuth({ req, result, error }) {
  const entry = pending.get(req);
  if (!entry) throw new Error(`no pending auth request ${req}`);
  pending.delete(req);
  if (error) entry(new Error(error), null);
  else entry(null, result);
  return { ok: true };
}

/** Fail every pending Python-signed request (client shut down). */
export function cancelPendingAuth() {
  for (const [req, callback] of pending) {
    pending.delete(req);
    callback(new Error('driver shutting down'), null);
  }
}

/**
 * Build `authorize(socketId, channelName, callback)` for one client.
 * `user` ({user_id, user_info}) is the presence data; it is only sent for presence- channels.
 */
export function makeAuthorize(clientName, signer, user) {
  return (socketId, channelName, callback) => {
    const presence = channelName.startsWith('presence-') ? (user ?? null) : null;
    if (signer === 'python') {
      nextRequest += 1;
      const req = nextRequest;
      pending.set(req, (err, result) => {
        if (!err) observe('auth_signed', { client: clientName, channel: channelName, signer, result });
        callback(err, result);
      });
      observe('auth_request', {
        client: clientName,
        req,
        socket_id: socketId,
        channel_name: channelName,
        presence_data: presence,
      });
      return;
    }
    try {
      let signing;
      if (signer === 'node') signing = requireSdk();
      else if (signer === 'node-wrong-secret') {
        requireSdk();
        signing = sdkWrongSecret;
      } else throw new Error(`client ${clientName} has no signer for ${channelName}`);
      const result = presence
        ? signing.authorizeChannel(socketId, channelName, presence)
        : signing.authorizeChannel(socketId, channelName);
      observe('auth_signed', { client: clientName, channel: channelName, signer, result });
      callback(null, result);
    } catch (err) {
      observe('auth_failed', { client: clientName, channel: channelName, signer, error: err });
      callback(err, null);
    }
  };
}

/** pusher-js 8 `channelAuthorization.customHandler`. */
export function customHandler(clientName, signer, user) {
  const authorize = makeAuthorize(clientName, signer, user);
  return ({ socketId, channelName }, callback) => authorize(socketId, channelName, callback);
}

/** Laravel Echo (and legacy pusher-js) `authorizer(channel, options)` option. */
export function echoAuthorizer(clientName, signer, user) {
  const authorize = makeAuthorize(clientName, signer, user);
  return (channel) => ({
    authorize: (socketId, callback) => authorize(socketId, channel.name, callback),
  });
}
