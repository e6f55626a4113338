// The scoreboard page: settings from pusherd's /demo/config.json, Laravel Echo on pusher-js.
import { Board } from './board.js';
import { showConnectionState } from './connection.js';
import { connectionOf, createEcho } from './echo.js';
import { MatchView } from './match-view.js';
import { seedBoard } from './seed.js';

const KEY_SHAPE = /^pk_[A-Za-z0-9]+\.\S+$/;
// The key in use, for this tab only (sessionStorage: gone when the tab closes), so a reload
// seeds from the API at once.
const KEY_STORAGE = 'pusherd-scoreboard:api-key';
const byTestId = (id) => document.querySelector(`[data-testid=${id}]`);

async function loadConfig() {
  const response = await fetch('/demo/config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`GET /demo/config.json answered HTTP ${response.status}`);
  return response.json();
}

function setKeyStatus(state, text) {
  const status = byTestId('key-status');
  status.dataset.state = state;
  status.textContent = text;
}

function announce(text) {
  byTestId('announcer').textContent = text;
}

async function start() {
  const connectionState = byTestId('connection-state');
  let config;
  try {
    config = await loadConfig();
  } catch (error) {
    connectionState.dataset.state = 'failed';
    connectionState.textContent = `cannot start: ${error.message}`;
    return;
  }
  const view = new MatchView(byTestId('match-view'), { onKeyResult: setKeyStatus });
  const board = new Board(byTestId('board'), {
    sports: config.sports,
    leagues: config.leagues ?? {},
    onOpen: (match) => view.open(match),
    onUpdate: (match) => view.update(match),
    announce,
  });

  let echo = null;
  let stopShowingState = () => {};
  let stopSeeding = () => {};
  // Current state over HTTP on load (or a new key) and after every reconnect; live events then
  // keep it current. window.__seeds records each read, for the browser test.
  window.__seeds = [];
  const seed = async (apiKey) => {
    if (!apiKey) return;
    const startedAt = Date.now();
    try {
      const { status, matches } = await seedBoard(board, apiKey);
      window.__seeds.push({ status, startedAt, matches });
    } catch (error) {
      window.__seeds.push({ status: 0, startedAt, error: String(error), matches: [] });
    }
  };
  // Echo's auth headers are fixed when it is created, as in a Laravel app's echo.js: a new key
  // means a new Echo. Cache channels refill the board at once after the switch.
  const connect = (apiKey) => {
    stopShowingState();
    stopSeeding();
    echo?.disconnect();
    echo = createEcho(config, apiKey);
    window.Echo = echo; // as a Laravel app's echo.js does: handy in the console
    stopShowingState = showConnectionState(echo, connectionState);
    board.attach(echo);
    view.attach(echo, apiKey);
    seed(apiKey);
    const connection = connectionOf(echo);
    let hasConnected = false;
    const onState = ({ current }) => {
      if (current !== 'connected') return;
      if (hasConnected) seed(apiKey); // a reconnect: what happened while away is in the API
      hasConnected = true;
    };
    connection.bind('state_change', onState);
    stopSeeding = () => connection.unbind('state_change', onState);
  };

  byTestId('api-key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const apiKey = byTestId('api-key-input').value.trim();
    if (apiKey && !KEY_SHAPE.test(apiKey)) {
      setKeyStatus('rejected', 'That is not a pusherd API key: keys look like pk_<id>.<secret>.');
      return;
    }
    setKeyStatus(
      apiKey ? 'pending' : 'none',
      apiKey ? 'Key set: open a match to use it.' : 'No key: live scores only.',
    );
    try {
      if (apiKey) window.sessionStorage.setItem(KEY_STORAGE, apiKey);
      else window.sessionStorage.removeItem(KEY_STORAGE);
    } catch {
      // storage disabled: the key is used for this page only
    }
    connect(apiKey);
  });
  let saved = '';
  try {
    saved = window.sessionStorage.getItem(KEY_STORAGE) ?? '';
  } catch {
    saved = '';
  }
  if (saved) setKeyStatus('pending', 'Key set (this tab): open a match to use it.');
  connect(saved);
}

start();
