// The connection state, in the words of the issue: connecting / connected / unavailable /
// reconnecting (plus pusher-js's failed and disconnected). pusher-js goes back to "connecting"
// when an open connection drops; after a first "connected" that is a reconnect.
import { connectionOf } from './echo.js';

const TEXT = {
  connecting: 'connecting…',
  reconnecting: 'reconnecting…',
  connected: 'connected',
  unavailable: 'unavailable: retrying',
  failed: 'failed: this browser cannot open a WebSocket',
  disconnected: 'disconnected',
};

/**
 * Show `echo`'s connection state in `element` (data-state holds the machine-readable word).
 * @returns {() => void}  stops showing it (before the Echo is replaced)
 */
export function showConnectionState(echo, element) {
  const connection = connectionOf(echo);
  let hasConnected = false;
  const render = (pusherState) => {
    let state = pusherState === 'initialized' ? 'connecting' : pusherState;
    if (state === 'connected') hasConnected = true;
    if (state === 'connecting' && hasConnected) state = 'reconnecting';
    element.dataset.state = state;
    element.textContent = TEXT[state] ?? state;
  };
  const onChange = ({ current }) => render(current);
  render(connection.state);
  connection.bind('state_change', onChange);
  return () => connection.unbind('state_change', onChange);
}
