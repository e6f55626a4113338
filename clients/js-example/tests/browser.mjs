// The scoreboard in a real browser: Debian's Chromium, driven by playwright-core (no browser
// download). Started by tests/e2e/test_scoreboard_browser.py against a running demo, with one
// JSON argument:
//   {url, goodKeys: [keyA, keyB], badKey, matchId, onceMatchId, feedMatchIds, outDir,
//    userDataDir, timeoutMs}
// The test's own feed publishes feedMatchIds: matchId scores every few seconds; onceMatchId is
// published once, when this script prints {need: "publish_once"} (the test answers on stdin with
// {done: "publish_once"}). Any other match on the board comes from the demo's simulated poller.
// Each step prints one JSON line {step, ...}; the last line is {ok: true, ...} or {ok: false,
// error}. The exit code is 0 only when every check passed.
import { chromium } from 'playwright-core';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const options = JSON.parse(process.argv[2] ?? '{}');
const timeout = options.timeoutMs ?? 10_000;
const report = (fields) => console.log(JSON.stringify(fields));
const consoleLines = [];
const stdin = createInterface({ input: process.stdin });
const replies = stdin[Symbol.asyncIterator]();

/** Ask the test to do something (it owns the feed) and wait for its answer. */
async function ask(need) {
  report({ need });
  const { value, done } = await replies.next();
  if (done || JSON.parse(value).done !== need) throw new Error(`no answer to ${need}: ${value}`);
}

function card(page, matchId) {
  return page.locator(`[data-testid=match-card][data-match-id="${matchId}"]`);
}

async function openPage(context, name) {
  const page = await context.newPage();
  page.on('console', (msg) => consoleLines.push(`[${name}] ${msg.type()}: ${msg.text()}`));
  page.on('pageerror', (error) => consoleLines.push(`[${name}] pageerror: ${error.message}`));
  await page.goto(options.url, { timeout });
  await page.locator('[data-testid=connection-state][data-state=connected]').waitFor({ timeout });
  return page;
}

async function useKey(page, apiKey) {
  await page.getByTestId('api-key-input').fill(apiKey);
  await page.getByTestId('api-key-submit').click();
  await page.locator('[data-testid=connection-state][data-state=connected]').waitFor({ timeout });
}

async function openMatch(page, matchId) {
  await card(page, matchId).getByRole('button').click();
  await page.getByTestId('match-view').waitFor({ state: 'visible', timeout });
}

async function watchingCount(page, expected) {
  await page.locator(`[data-testid=watching-count][data-count="${expected}"]`).waitFor({ timeout });
}

async function run(context) {
  // 1. The board fills from the sports' cache channels and live updates.
  const pageA = await openPage(context, 'A');
  const openedAt = Date.now();
  await card(pageA, options.matchId).waitFor({ timeout });
  report({ step: 'board', ms: Date.now() - openedAt });

  // 1b. The demo's own poller feeds the board too (simulated matches, not the test's feed).
  const own = new Set(options.feedMatchIds.map(String));
  await pageA.waitForFunction(
    (ids) =>
      [...document.querySelectorAll('[data-testid=match-card]')].some(
        (el) => !ids.includes(el.dataset.matchId),
      ),
    [...own],
    { timeout },
  );
  const simulated = await pageA
    .locator('[data-testid=match-card]')
    .evaluateAll((els, ids) => els.filter((el) => !ids.includes(el.dataset.matchId)).length, [
      ...own,
    ]);
  report({ step: 'poller matches', simulated, ms: Date.now() - openedAt });

  // 1c. Current state at once on (re)opening: a match updated once, then never again, and no
  //     longer the latest of its sport (the test publishes another match after it), comes back
  //     from its own cache channel as soon as the reloaded page connects.
  await ask('publish_once');
  await card(pageA, options.onceMatchId).waitFor({ timeout });
  const reloadedAt = Date.now();
  await pageA.reload({ timeout });
  await card(pageA, options.onceMatchId).waitFor({ timeout });
  report({ step: 'cached state on open', ms: Date.now() - reloadedAt });

  // 1d. Seeded from the data API: a page opened mid-match with a key (here remembered for the
  //     tab, as after a reload) reads GET /api/v1/matches/live at once and shows every match in
  //     play with its current score. A first visit (no remembered matches) gets only each
  //     sport's latest update from the socket's cache channels, so every other match's card must
  //     have been made from the API's answer (data-source=api): no waiting for the next poll.
  const pageS = await context.newPage();
  pageS.on('console', (msg) => consoleLines.push(`[S] ${msg.type()}: ${msg.text()}`));
  await pageS.addInitScript((apiKey) => {
    window.sessionStorage.setItem('pusherd-scoreboard:api-key', apiKey);
    window.localStorage.removeItem('pusherd-scoreboard:matches'); // a first visit
  }, options.goodKeys[0]);
  const seedOpenedAt = Date.now();
  await pageS.goto(options.url, { timeout });
  await pageS.waitForFunction(() => (window.__seeds ?? []).length > 0, null, { timeout });
  const firstSeed = await pageS.evaluate(() => window.__seeds[0]);
  const seededMs = Date.now() - seedOpenedAt;
  if (firstSeed.status !== 200 || firstSeed.matches.length === 0) {
    throw new Error(`no live matches seeded: ${JSON.stringify(firstSeed).slice(0, 300)}`);
  }
  const shown = await pageS.evaluate((ids) => {
    return ids.map((id) => {
      const el = document.querySelector(`[data-testid=match-card][data-match-id="${id}"]`);
      const score = el?.querySelector('[data-testid=match-score]');
      return (
        el && {
          id,
          source: el.dataset.source,
          lastUpdated: el.dataset.lastUpdated,
          home: score.dataset.home,
          away: score.dataset.away,
        }
      );
    });
  }, firstSeed.matches.map((m) => m.match_id));
  const sports = new Set(firstSeed.matches.map((m) => m.sport_id));
  let fromApi = 0;
  for (const [n, match] of firstSeed.matches.entries()) {
    const card = shown[n];
    if (!card) throw new Error(`match ${match.match_id} from the API is not on the board`);
    if (card.source === 'api') fromApi += 1;
    // Unless a newer update came since, the card shows exactly the API's score.
    const want = [String(match.home_team?.score ?? ''), String(match.away_team?.score ?? '')];
    const isSameVersion = card.lastUpdated === String(match.last_updated);
    if (isSameVersion && (card.home !== want[0] || card.away !== want[1])) {
      throw new Error(`match ${match.match_id} shows ${card.home}-${card.away}, API ${want}`);
    }
    if (card.lastUpdated < String(match.last_updated)) {
      throw new Error(`match ${match.match_id} shows an older state than the API's`);
    }
  }
  if (fromApi < firstSeed.matches.length - sports.size || fromApi === 0) {
    throw new Error(`only ${fromApi} of ${firstSeed.matches.length} cards came from the API`);
  }
  // The same key's own read of the API agrees with what the page seeded (same data version).
  const direct = await (
    await fetch(new URL('api/v1/matches/live?limit=200', options.url), {
      headers: { Authorization: `Bearer ${options.goodKeys[0]}` },
    })
  ).json();
  const directIds = new Set(direct.data.map((m) => m.match_id));
  const overlap = firstSeed.matches.filter((m) => directIds.has(m.match_id)).length;
  if (overlap === 0) throw new Error('the page seeded none of the matches the API serves');
  report({
    step: 'seeded from the API',
    matches: firstSeed.matches.length,
    fromApi,
    overlap,
    ms: seededMs,
  });
  await pageS.close();

  // 2. A score changes on screen, highlighted.
  const scoreA = card(pageA, options.matchId).getByTestId('match-score');
  await scoreA.waitFor({ timeout });
  const before = await scoreA.textContent();
  await pageA.waitForFunction(
    ([id, text]) => {
      const el = document.querySelector(
        `[data-testid=match-card][data-match-id="${id}"] [data-testid=match-score]`,
      );
      return el && el.textContent !== text;
    },
    [options.matchId, before],
    { timeout },
  );
  await pageA
    .locator(`[data-testid=match-card][data-match-id="${options.matchId}"][data-score-changed=true]`)
    .waitFor({ timeout });
  report({ step: 'score changed', before, after: await scoreA.textContent() });

  // 3. Key A opens the match: timeline from the private cache channel, presence count 1.
  await useKey(pageA, options.goodKeys[0]);
  await openMatch(pageA, options.matchId);
  await pageA.locator('[data-testid=key-status][data-state=accepted]').waitFor({ timeout });
  await watchingCount(pageA, 1);
  await pageA.getByTestId('timeline-item').first().waitFor({ timeout });
  report({ step: 'match view', watching: 1 });

  // 4. A second viewer (another key, another user) joins: 1 → 2 on the first page.
  const pageB = await openPage(context, 'B');
  await card(pageB, options.matchId).waitFor({ timeout });
  await useKey(pageB, options.goodKeys[1]);
  await openMatch(pageB, options.matchId);
  await watchingCount(pageB, 2);
  await watchingCount(pageA, 2);
  const names = await pageA.getByTestId('watcher').allTextContents();
  report({ step: 'presence', watching: 2, names });

  // 5. A bad key: a clear, visible message, never a silent failure.
  const pageC = await openPage(context, 'C');
  await card(pageC, options.matchId).waitFor({ timeout });
  await useKey(pageC, options.badKey);
  await openMatch(pageC, options.matchId);
  const alert = pageC.getByTestId('match-error');
  await alert.waitFor({ state: 'visible', timeout });
  await pageC.locator('[data-testid=key-status][data-state=rejected]').waitFor({ timeout });
  const message = await alert.textContent();
  if (!/rejected/i.test(message) || !/401/.test(message)) {
    throw new Error(`bad-key message is not clear: ${JSON.stringify(message)}`);
  }
  report({ step: 'bad key', message });
  await pageC.close();

  // 6. Reconnect: the state display goes reconnecting → connected and the board stays; the
  //    page reads the current state from the API again (what it missed while away).
  const seedsBefore = await pageA.evaluate(() => window.__seeds.length);
  await pageA.evaluate(() => {
    const el = document.querySelector('[data-testid=connection-state]');
    window.__states = [];
    new MutationObserver(() => window.__states.push(el.dataset.state)).observe(el, {
      attributes: true,
      attributeFilter: ['data-state'],
    });
    // The socket drops (as when a network blips); pusher-js reconnects by itself.
    window.Echo.connector.pusher.connection.connection.transport.socket.close();
  });
  await pageA.waitForFunction(
    () => window.__states.includes('reconnecting') && window.__states.at(-1) === 'connected',
    null,
    { timeout },
  );
  await watchingCount(pageA, 2);
  await pageA.waitForFunction(
    (count) => window.__seeds.length > count && window.__seeds.at(-1).status === 200,
    seedsBefore,
    { timeout },
  );
  report({
    step: 'reconnect',
    states: await pageA.evaluate(() => window.__states),
    seededAgain: true,
  });

  // 7. Screenshot for the test output and the README; then the second viewer leaves: 2 → 1.
  const screenshot = join(options.outDir, 'scoreboard.png');
  await pageA.screenshot({ path: screenshot, fullPage: true });
  report({ step: 'screenshot', path: screenshot });
  await pageB.close();
  await watchingCount(pageA, 1);
  report({ step: 'presence leave', watching: 1 });

  // 8. The data API's reference page renders every operation from this server's own assets.
  const pageD = await context.newPage();
  const requested = [];
  pageD.on('request', (request) => requested.push(request.url()));
  pageD.on('pageerror', (error) => consoleLines.push(`[D] pageerror: ${error.message}`));
  await pageD.goto(new URL('api/v1/docs', options.url).href, { timeout });
  await pageD.locator('.opblock').nth(7).waitFor({ timeout });
  const operations = await pageD.locator('.opblock').count();
  const origin = new URL(options.url).origin;
  const foreign = requested.filter((url) => !url.startsWith('data:') && new URL(url).origin !== origin);
  if (foreign.length > 0) throw new Error(`the docs page loaded ${JSON.stringify(foreign)}`);
  report({ step: 'api docs', operations, requests: requested.length });
  await pageD.close();
  return { screenshot };
}

async function main() {
  await mkdir(options.outDir, { recursive: true });
  const context = await chromium.launchPersistentContext(options.userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1200, height: 760 },
    timeout,
  });
  try {
    const result = await run(context);
    report({ ok: true, ...result });
  } catch (error) {
    const failure = join(options.outDir, 'failure.png');
    await context.pages().at(-1)?.screenshot({ path: failure, fullPage: true }).catch(() => {});
    report({ ok: false, error: String(error?.stack ?? error), console: consoleLines.slice(-50) });
    process.exitCode = 1;
  } finally {
    stdin.close();
    await context.close();
  }
}

await main();
