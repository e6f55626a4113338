// The board's starting state from the data API (GET /api/v1/matches/live), read on load and
// after every (re)connect, then kept current by the socket's match.update events.
//
// The cache channels give each sport's latest update and the matches this browser saw before;
// only the API knows every match in play. The API answers in the WebSocket's own shapes, so its
// items go through the same Board.apply as live updates (an older one never overwrites a newer
// one, whichever arrives first). It needs an API key (the pasted one; the demo's banner prints
// one): without a key the board starts from the cache channels alone, as before.
const LIVE_PATH = '/api/v1/matches/live?limit=200';
const MAX_PAGES = 20;

/**
 * Read every page of live matches with `apiKey` and apply them to `board`.
 * @returns {Promise<{status: number, matches: object[]}>}  the last HTTP status and what came
 */
export async function seedBoard(board, apiKey, fetchImpl = window.fetch.bind(window)) {
  const matches = [];
  let url = LIVE_PATH;
  let status = 0;
  for (let page = 0; url && page < MAX_PAGES; page += 1) {
    const response = await fetchImpl(url, {
      headers: { Authorization: `Bearer ${apiKey}`, Accept: 'application/json' },
      cache: 'no-store',
    });
    status = response.status;
    if (!response.ok) break; // 401/403/429: the board still fills from the socket
    const body = await response.json();
    for (const match of body.data ?? []) {
      board.apply(match, 'api');
      matches.push(match);
    }
    // `next` is a path on this origin; anything else is not followed.
    url = typeof body.next === 'string' && body.next.startsWith('/api/v1/') ? body.next : null;
  }
  return { status, matches };
}
