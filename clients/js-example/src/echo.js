// The Echo a Laravel app builds in resources/js/echo.js, with the values that app would take from
// .env (VITE_REVERB_*) read instead from pusherd's /demo/config.json.
import Echo from 'laravel-echo';
import Pusher from 'pusher-js';

/**
 * @param {{key: string, wsHost: string|null, wsPort: number|null, wsPath?: string,
 *          authEndpoint: string}} config  what GET /demo/config.json returned
 * @param {string} apiKey  the pasted pusherd API key (pk_…), or '' for public channels only
 */
export function createEcho(config, apiKey) {
  // null host/port: the WebSocket is on the host and port that served this page (so the same
  // build works behind a TLS proxy too: https page → wss, as a browser requires).
  const isHttps = window.location.protocol === 'https:';
  const wsHost = config.wsHost ?? window.location.hostname;
  const wsPort = config.wsPort ?? (Number(window.location.port) || (isHttps ? 443 : 80));
  return new Echo({
    broadcaster: 'reverb',
    key: config.key,
    wsHost,
    wsPort,
    wssPort: wsPort,
    wsPath: config.wsPath ?? '',
    forceTLS: isHttps, // false for the demo's http://127.0.0.1:8080
    enabledTransports: ['ws', 'wss'],
    authEndpoint: config.authEndpoint,
    // Echo sends it as "Authorization: Bearer …" on /broadcasting/auth and /broadcasting/user-auth.
    bearerToken: apiKey || null,
    // Fresh objects: Echo writes the bearer token into these, and its own defaults are shared by
    // every Echo instance (a new instance without a key would otherwise keep the old one).
    auth: { headers: {} },
    userAuthentication: { endpoint: '/broadcasting/user-auth', headers: {} },
    Pusher,
  });
}

/** pusher-js's connection (for state changes: Echo reports only a coarse status). */
export function connectionOf(echo) {
  return echo.connector.pusher.connection;
}
