// Channel authorization for pusher-js (channelAuthorization.customHandler) and Echo (authorizer),
// and user authentication for `pusher.signin()` (userAuthentication.customHandler).
//
// Signers (channel auth):
//   "node"               the real Node `pusher` SDK, authorizeChannel(socketId, channel, presenceData)
//   "node-wrong-secret"  the same SDK configured with a wrong secret (server must refuse: B15)
//   "python"             the Python side signs with the PyPI `pusher` SDK (authenticate()); the driver
//                        emits an `auth_request` observation and waits for an `auth_response` command.
//   "none"               no signer: any auth attempt fails locally (public channels only)
//
// User signers (signin): "node" (authenticateUser), "node-wrong-secret", "python"
// (authenticate_user, answered through `user_auth_request` / `auth_response`), "app" (the exact
// user_data string given, signed with the SDK's token as an app's own endpoint would, e.g.
// Laravel's with an integer id, which the SDK helpers refuse) and "none".
//
// Both SDK instances carry `encryptionMasterKeyBase64`, so their channel auth returns
// `shared_secret` for private-encrypted- channels and their triggers encrypt (reference §5.3).

import PusherSdk from 'pusher';
import { observe } from './io.mjs';

let sdk = null;
let sdkWrongSecret = null;
let nextRequest = 0;
const pending = new Map();

/** Configure the Node SDK instances (HTTP API triggers and channel auth) for one server. */
export function setupSdk({ app_id, key, secret, host, port, encryption_master_key_base64 }) {
  const base = {
    appId: String(app_id),
    key,
    host,
    port: String(port),
    useTLS: false,
    timeout: 10000,
    encryptionMasterKeyBase64: encryption_master_key_base64 ?? undefined,
  };
  sdk = new PusherSdk({ ...base, secret });
  sdkWrongSecret = new PusherSdk({ ...base, secret: `${secret}-wrong` });
  // Record what the SDK posts (e.g. the ciphertext of an encrypted trigger, checklist I81).
  const post = sdk.post.bind(sdk);
  sdk.post = (options) => {
    observe('sdk_post', { path: options.path, body: options.body ?? null });
    return post(options);
  };
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

/**
 * pusher-js 8 `userAuthentication.customHandler` for `pusher.signin()` (reference §13.1).
 * `userData` is the object the SDK signs (`{id, user_info?, watchlist?}`).
 */
export function userHandler(clientName, signer, userData) {
  return ({ socketId }, callback) => {
    if (signer === 'python') {
      nextRequest += 1;
      const req = nextRequest;
      pending.set(req, (err, result) => {
        if (!err) observe('user_auth_signed', { client: clientName, signer, result });
        callback(err, result);
      });
      observe('user_auth_request', {
        client: clientName,
        req,
        socket_id: socketId,
        user_data: userData,
      });
      return;
    }
    try {
      let result;
      if (signer === 'app') {
        const { token } = requireSdk().config;
        const userDataString = typeof userData === 'string' ? userData : JSON.stringify(userData);
        const signature = token.sign(`${socketId}::user::${userDataString}`);
        result = { auth: `${token.key}:${signature}`, user_data: userDataString };
      } else if (signer === 'node') result = requireSdk().authenticateUser(socketId, userData);
      else if (signer === 'node-wrong-secret') {
        requireSdk();
        result = sdkWrongSecret.authenticateUser(socketId, userData);
      } else throw new Error(`client ${clientName} has no user signer`);
      observe('user_auth_signed', { client: clientName, signer, result });
      callback(null, result);
    } catch (err) {
      observe('user_auth_failed', { client: clientName, signer, error: err });
      callback(err, null);
    }
  };
}
