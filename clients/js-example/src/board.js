// Live matches per sport and league, from the public cache channels.
//
// cache-sports.{sport} delivers its last match.update the moment it is subscribed (pusher
// protocol §11), then every update of the sport. Each match seen is also followed on its own
// cache-…matches.{id} channel, so after a reconnect (pusher-js resubscribes every channel) each
// card is brought up to date at once from the cache, without a reload; matches seen on an earlier
// visit (remembered.js) are followed from the start, so a reload shows them at once. Leagues in the
// optional config "leagues" ({sport: [league, …]}) are followed too: one more match each at once.
import { clockText, scoreText, statusText, titleFromSlug } from './format.js';
import { loadRemembered, remember } from './remembered.js';

const HIGHLIGHT_MS = 4000;

export function matchChannel(sport, league, matchId) {
  return `sports.${sport}.leagues.${league}.matches.${matchId}`;
}

export class Board {
  /**
   * @param {HTMLElement} root  the [data-testid=board] section
   * @param {{sports: string[], leagues?: Object<string, string[]>,
   *          onOpen: (match: object) => void, onUpdate: (match: object) => void,
   *          announce: (text: string) => void}} options
   */
  constructor(root, { sports, leagues = {}, onOpen, onUpdate, announce }) {
    this.root = root;
    this.sports = sports;
    this.leagues = leagues;
    this.onOpen = onOpen;
    this.onUpdate = onUpdate;
    this.announce = announce;
    this.matches = new Map(); // match_id → latest match.update payload
    this.cards = new Map(); // match_id → <li>
    this.echo = null;
    this.followed = new Set(); // channel names subscribed on the current Echo
    this.container = root.querySelector('[data-testid=sports]');
    this.empty = root.querySelector('[data-testid=board-empty]');
    this.sportSections = new Map();
    for (const sport of sports) this.sportSections.set(sport, this.#sportSection(sport));
  }

  /** Subscribe (again) on a new Echo: the sports and every match already on the board. */
  attach(echo) {
    this.echo = echo;
    this.followed = new Set();
    for (const sport of this.sports) {
      this.#follow(`cache-sports.${sport}`);
      for (const league of this.leagues[sport] ?? []) {
        this.#follow(`cache-sports.${sport}.leagues.${league}`);
      }
    }
    const known = [...this.matches.values(), ...loadRemembered()];
    for (const match of known) {
      if (!this.sportSections.has(match.sport_id)) continue;
      this.#follow(`cache-${matchChannel(match.sport_id, match.league_id, match.match_id)}`);
    }
  }

  get(matchId) {
    return this.matches.get(Number(matchId));
  }

  #follow(channel) {
    if (this.followed.has(channel)) return;
    this.followed.add(channel);
    this.echo.channel(channel).listen('.match.update', (update) => this.apply(update));
  }

  /**
   * Apply one match.update (compact or rich): upsert the card, highlight a changed score.
   * @param {'socket'|'api'} source  where it came from (data-source on a new card, for tests)
   */
  apply(update, source = 'socket') {
    const id = Number(update.match_id);
    if (!Number.isFinite(id) || !this.sportSections.has(update.sport_id)) return;
    const previous = this.matches.get(id);
    // Second-precision timestamps: an older one is a late duplicate, an equal one is fine.
    if (previous && String(update.last_updated) < String(previous.last_updated)) return;
    this.matches.set(id, update);
    let card = this.cards.get(id);
    if (!card) {
      card = this.#card(update);
      card.dataset.source = source;
      this.cards.set(id, card);
      remember(update);
      if (this.echo) {
        this.#follow(`cache-${matchChannel(update.sport_id, update.league_id, id)}`);
      }
    }
    card.dataset.updatedBy = source;
    card.dataset.lastUpdated = String(update.last_updated ?? '');
    this.#render(card, update, previous);
    this.onUpdate(update);
  }

  #sportSection(sport) {
    const section = document.createElement('section');
    section.className = 'sport';
    section.dataset.testid = 'sport';
    section.dataset.sport = sport;
    section.hidden = true;
    const heading = document.createElement('h3');
    heading.id = `sport-${sport}`;
    heading.textContent = titleFromSlug(sport);
    section.setAttribute('aria-labelledby', heading.id);
    section.append(heading);
    this.container.append(section);
    return section;
  }

  #leagueList(sport, league) {
    const section = this.sportSections.get(sport);
    section.hidden = false;
    this.empty.hidden = true;
    let list = section.querySelector(`ul[data-league="${CSS.escape(String(league))}"]`);
    if (list) return list;
    const heading = document.createElement('h4');
    heading.textContent = titleFromSlug(league);
    heading.id = `league-${sport}-${league}`;
    list = document.createElement('ul');
    list.className = 'matches';
    list.dataset.league = String(league);
    list.setAttribute('aria-labelledby', heading.id);
    // Leagues in name order, so the board does not jump around as matches arrive.
    const next = [...section.querySelectorAll('ul[data-league]')].find(
      (other) => other.dataset.league > String(league),
    );
    if (next) {
      next.previousElementSibling.before(heading, list);
    } else {
      section.append(heading, list);
    }
    return list;
  }

  #card(update) {
    const card = document.createElement('li');
    card.className = 'match-card';
    card.dataset.testid = 'match-card';
    card.dataset.matchId = String(update.match_id);
    const button = document.createElement('button');
    button.type = 'button';
    button.innerHTML =
      '<span class="team home"></span><span class="score" data-testid="match-score"></span>' +
      '<span class="team away"></span><span class="clock" data-testid="match-clock"></span>' +
      '<span class="status" data-testid="match-status"></span>';
    button.addEventListener('click', () => this.onOpen(this.matches.get(Number(update.match_id))));
    card.append(button);
    const list = this.#leagueList(update.sport_id, update.league_id);
    const next = [...list.children].find((c) => Number(c.dataset.matchId) > update.match_id);
    list.insertBefore(card, next ?? null);
    return card;
  }

  #render(card, update, previous) {
    const home = update.home_team ?? {};
    const away = update.away_team ?? {};
    const score = card.querySelector('[data-testid=match-score]');
    card.querySelector('.team.home').textContent = home.name ?? '';
    card.querySelector('.team.away').textContent = away.name ?? '';
    score.textContent = scoreText(home.score, away.score);
    score.dataset.home = String(home.score ?? '');
    score.dataset.away = String(away.score ?? '');
    card.querySelector('[data-testid=match-clock]').textContent = clockText(update);
    card.querySelector('[data-testid=match-status]').textContent = statusText(update.status);
    card.dataset.status = update.status ?? 'unknown';
    card.querySelector('button').setAttribute(
      'aria-label',
      `${home.name} ${scoreText(home.score, away.score)} ${away.name}, ` +
        `${statusText(update.status)}: open the match`,
    );
    const changed =
      previous &&
      (previous.home_team?.score !== home.score || previous.away_team?.score !== away.score);
    if (changed) {
      highlight(card);
      this.announce(`${home.name} ${scoreText(home.score, away.score)} ${away.name}`);
    }
  }
}

/** Mark an element as just changed for a few seconds (CSS: .score-changed). */
export function highlight(element) {
  element.classList.remove('score-changed');
  void element.offsetWidth; // restart the CSS animation
  element.classList.add('score-changed');
  element.dataset.scoreChanged = 'true';
  clearTimeout(element._highlightTimer);
  element._highlightTimer = setTimeout(() => {
    element.classList.remove('score-changed');
    delete element.dataset.scoreChanged;
  }, HIGHLIGHT_MS);
}
