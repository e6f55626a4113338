// One match: its score, its event timeline and who is watching.
//
// private-cache-sports.{sport}.leagues.{league}.matches.{id}: the rich match.update, delivered
//   at once from the cache on subscribe; it carries the full event list so far ("events").
// presence-sports.{sport}.leagues.{league}.matches.{id}: who is watching, and each new
//   match.event as it happens.
// Both are authorized by POST /broadcasting/auth with the pasted API key (private needs tier pro,
// presence enterprise). A refusal arrives as pusher:subscription_error (Echo .error()) and is
// shown, never swallowed.
import { highlight, matchChannel } from './board.js';
import {
  clockText,
  eventLabel,
  eventText,
  minuteValue,
  scoreText,
  statusText,
  titleFromSlug,
} from './format.js';

/**
 * A readable sentence for a refused subscription (pusher-js AuthError: {type, error, status}).
 * @param {string} what  what the channel would have shown
 * @param {string} [forbidden]  the sentence for HTTP 403
 */
export function describeAuthError(error, what, forbidden) {
  forbidden ??= `Your API key's tier does not include ${what}`;
  const status = error?.status;
  if (status === 401) {
    // The same sentence for every channel, so two refusals show as one message.
    return (
      'Your API key was rejected (HTTP 401). Check that you pasted the whole key ' +
      '(pk_<id>.<secret>) and that it is not revoked or expired.'
    );
  }
  if (status === 403) {
    return `${forbidden} (HTTP 403).`;
  }
  if (status === 429) {
    return `Too many failed key checks: wait a minute before trying again (HTTP 429).`;
  }
  if (typeof status === 'number' && status > 0) {
    return `The auth endpoint refused ${what} (HTTP ${status}).`;
  }
  const detail = error?.error ?? error?.message ?? JSON.stringify(error);
  return `Could not authorize ${what}: ${detail}`;
}

/** Echo hands out each member's user_info; pusherd's policy puts the user id in it (id, name). */
function memberKey(member) {
  return String(member?.id ?? JSON.stringify(member));
}

export class MatchView {
  /**
   * @param {HTMLElement} root  the [data-testid=match-view] section
   * @param {{onKeyResult: (state: 'accepted'|'rejected', message: string) => void}} options
   */
  constructor(root, { onKeyResult }) {
    this.root = root;
    this.onKeyResult = onKeyResult;
    this.el = (testid) => root.querySelector(`[data-testid=${testid}]`);
    this.match = null; // the latest match.update of the open match
    this.channels = null; // {private, presence} full channel names
    this.events = new Map(); // event_id → row
    this.members = new Map(); // user id → user_info
    this.errors = new Map(); // 'timeline' | 'watching' → message
    this.echo = null;
    this.apiKey = '';
  }

  /** Show `match` (a match.update); subscribe its channels if a key is set. */
  open(match) {
    this.#leave();
    this.match = null;
    this.events.clear();
    this.members.clear();
    this.errors.clear();
    this.root.hidden = false;
    this.update(match);
    this.#renderTimeline();
    this.#renderMembers();
    this.#subscribe();
    this.el('match-title').focus?.();
  }

  /** Subscribe again on a new Echo (the key changed). */
  attach(echo, apiKey) {
    this.#leave();
    this.echo = echo;
    this.apiKey = apiKey;
    this.errors.clear();
    this.members.clear();
    this.#renderMembers();
    this.#subscribe();
  }

  /** A match.update for the open match (public or rich); ignores other matches. */
  update(update) {
    if (this.match && Number(update.match_id) !== Number(this.match.match_id)) return;
    if (!this.match && this.root.hidden) return;
    const previous = this.match;
    if (previous && String(update.last_updated) < String(previous.last_updated)) return;
    this.match = { ...previous, ...update };
    const { home_team: home = {}, away_team: away = {} } = this.match;
    this.el('match-title').textContent = `${home.name} v ${away.name}`;
    const score = this.el('match-view-score');
    score.textContent = scoreText(home.score, away.score);
    score.dataset.home = String(home.score ?? '');
    score.dataset.away = String(away.score ?? '');
    this.el('match-view-meta').textContent = [
      this.match.league_name ?? titleFromSlug(this.match.league_id), // rich payloads name it
      statusText(this.match.status),
      clockText(this.match),
    ]
      .filter(Boolean)
      .join(' · ');
    if (
      previous &&
      (previous.home_team?.score !== home.score || previous.away_team?.score !== away.score)
    ) {
      highlight(score);
    }
    if (Array.isArray(update.events)) {
      for (const row of update.events) this.#addEvent(row);
      this.#renderTimeline();
    }
  }

  #subscribe() {
    if (!this.echo || !this.match) return;
    if (!this.apiKey) {
      this.#note('Paste an API key above to see the event timeline and who is watching.');
      return;
    }
    this.#note('');
    const { sport_id: sport, league_id: league, match_id: id } = this.match;
    const base = matchChannel(sport, league, id);
    this.channels = { private: `private-cache-${base}`, presence: `presence-${base}` };
    this.echo
      .private(`cache-${base}`)
      .subscribed(() => {
        this.errors.delete('timeline');
        this.#renderErrors();
        this.onKeyResult('accepted', 'Key accepted.');
      })
      .error((error) => this.#refused('timeline', 'the event timeline', error))
      .listen('.match.update', (update) => this.update(update))
      .listen('.match.event', (event) => this.#onEvent(event));
    this.echo
      .join(base)
      .here((members) => {
        this.members = new Map(members.map((m) => [memberKey(m), m]));
        this.errors.delete('watching');
        this.#renderErrors();
        this.#renderMembers();
      })
      .joining((member) => {
        this.members.set(memberKey(member), member);
        this.#renderMembers();
      })
      .leaving((member) => {
        this.members.delete(memberKey(member));
        this.#renderMembers();
      })
      .error((error) =>
        this.#refused(
          'watching',
          '"watching now"',
          error,
          '"Watching now" needs a key whose tier includes presence channels (enterprise)',
        ),
      )
      .listen('.match.event', (event) => this.#onEvent(event));
  }

  #leave() {
    if (this.echo && this.channels) {
      this.echo.leaveChannel(this.channels.private);
      this.echo.leaveChannel(this.channels.presence);
    }
    this.channels = null;
  }

  #refused(part, what, error, forbidden) {
    const message = describeAuthError(error, what, forbidden);
    this.errors.set(part, message);
    this.#renderErrors();
    if (error?.status === 401) this.onKeyResult('rejected', message);
  }

  #onEvent(event) {
    if (this.match && Number(event.match_id) !== Number(this.match.match_id)) return;
    this.#addEvent(event);
    this.#renderTimeline();
  }

  #addEvent(row) {
    if (row?.event_id == null) return;
    const known = this.events.get(row.event_id);
    // A rewrite (backfilled name, corrected minute) keeps its event_id: update it in place.
    this.events.set(row.event_id, { ...known, ...row, seq: known?.seq ?? this.events.size });
  }

  #note(text) {
    const note = this.el('match-note');
    note.textContent = text;
    note.hidden = !text;
  }

  #renderErrors() {
    const alert = this.el('match-error');
    const text = [...new Set(this.errors.values())].join(' ');
    alert.textContent = text;
    alert.hidden = !text;
  }

  #renderMembers() {
    const count = this.el('watching-count');
    const list = this.el('watching-list');
    const subscribed = this.members.size > 0;
    count.textContent = subscribed ? String(this.members.size) : '–';
    count.dataset.count = String(this.members.size);
    list.replaceChildren(
      ...[...this.members.values()].map((member) => {
        const item = document.createElement('li');
        item.dataset.testid = 'watcher';
        item.textContent = member.name ?? String(member.id);
        return item;
      }),
    );
  }

  #renderTimeline() {
    const teamNames = new Map(
      [this.match?.home_team, this.match?.away_team]
        .filter((team) => team?.id != null)
        .map((team) => [team.id, team.name]),
    );
    const rows = [...this.events.values()].sort(
      (a, b) => minuteValue(b.time) - minuteValue(a.time) || b.seq - a.seq,
    );
    this.el('timeline').replaceChildren(
      ...rows.map((row) => {
        const item = document.createElement('li');
        item.dataset.testid = 'timeline-item';
        item.dataset.eventType = row.event_type ?? 'other';
        item.dataset.eventId = String(row.event_id);
        const minute = document.createElement('span');
        minute.className = 'minute';
        minute.textContent = row.time ?? '';
        const label = document.createElement('span');
        label.className = 'kind';
        label.textContent = eventLabel(row);
        const text = document.createElement('span');
        text.className = 'text';
        text.textContent = eventText(row, teamNames);
        item.append(minute, label, text);
        return item;
      }),
    );
    this.el('timeline-empty').hidden = rows.length > 0;
  }
}
