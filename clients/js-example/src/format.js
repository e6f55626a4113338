// Text for the payloads of docs event-schema.md (match.update, match.event, match.status).

/** "premier-league" → "Premier League"; a numeric league id stays "League 90030". */
export function titleFromSlug(slug) {
  const text = String(slug);
  if (/^\d+$/.test(text)) return `League ${text}`;
  return text
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(' ');
}

/** "2 – 1", or "v" before kick-off (scores are null until then). */
export function scoreText(home, away) {
  if (home == null && away == null) return 'v';
  return `${home ?? 0} – ${away ?? 0}`;
}

const STATUS_TEXT = {
  scheduled: 'scheduled',
  live: 'live',
  break: 'break',
  finished: 'full time',
  postponed: 'postponed',
  cancelled: 'cancelled',
  suspended: 'suspended',
  unknown: '',
};

export function statusText(status) {
  return STATUS_TEXT[status] ?? String(status ?? '');
}

/** "75:00 · 2nd Half" from a match.update. */
export function clockText(update) {
  return [update.time, update.period].filter(Boolean).join(' · ');
}

const EVENT_TEXT = {
  goal: 'Goal',
  missed_penalty: 'Missed penalty',
  card: 'Card',
  substitution: 'Substitution',
  var: 'VAR',
  period: 'Period',
  other: 'Event',
};

/** The label of a timeline row: the card colour for cards ("Yellow Card"), else the kind. */
export function eventLabel(event) {
  if (event.event_type === 'card' && event.detail) return event.detail;
  return EVENT_TEXT[event.event_type] ?? 'Event';
}

/**
 * The text of a timeline row: who and what, without repeating the label or the player, and the
 * team ("R. Okafor — Yellow Card: Foul (Northbridge)").
 * @param {Map<number, string>} teamNames  team id → name
 */
export function eventText(event, teamNames) {
  const label = eventLabel(event);
  const description =
    event.description && event.description !== label ? String(event.description) : '';
  const parts = [];
  if (event.player_name && !description.includes(event.player_name)) parts.push(event.player_name);
  if (description) parts.push(description);
  const text = parts.join(' — ') || label;
  const team = teamNames.get(event.team_id);
  return team ? `${text} (${team})` : text;
}

/** Sort key of a match time: "74:30" → 74.5, "45+2" → 45.02; unknown → -1 (listed last). */
export function minuteValue(time) {
  const m = /^(\d+)(?:\+(\d+))?(?::(\d+))?/.exec(String(time ?? ''));
  if (!m) return -1;
  return Number(m[1]) + Number(m[2] ?? 0) / 100 + Number(m[3] ?? 0) / 6000;
}
