// The matches this browser has seen, kept in localStorage so that on the next visit the board
// follows their cache channels at once and shows their current state without waiting for each
// match's next update. (A first visit has only the sports' latest updates until matches move;
// a list of all matches is for a data API to serve, not for the socket.)
const STORAGE_KEY = 'pusherd-scoreboard:matches';
const MAX_ENTRIES = 100;
const MAX_AGE_MS = 6 * 60 * 60 * 1000;

/** @returns {{match_id: number, sport_id: string, league_id: string, seen_at: number}[]} */
export function loadRemembered(now = Date.now()) {
  try {
    const entries = JSON.parse(window.localStorage.getItem(STORAGE_KEY) ?? '[]');
    return Array.isArray(entries)
      ? entries.filter((e) => e && now - Number(e.seen_at) < MAX_AGE_MS && e.sport_id && e.league_id)
      : [];
  } catch {
    return []; // storage disabled or corrupt: the board still works, it only starts emptier
  }
}

export function remember(update, now = Date.now()) {
  const entry = {
    match_id: Number(update.match_id),
    sport_id: String(update.sport_id),
    league_id: String(update.league_id),
    seen_at: now,
  };
  const others = loadRemembered(now).filter((e) => e.match_id !== entry.match_id);
  try {
    window.localStorage.setItem(
      STORAGE_KEY,
      JSON.stringify([entry, ...others].slice(0, MAX_ENTRIES)),
    );
  } catch {
    // quota or disabled storage: nothing to remember, nothing lost
  }
}
