// JSON-lines I/O between the pytest wrapper (tests/e2e/node_driver.py) and this driver.
//
// stdin:  one command per line  {"id": 7, "cmd": "subscribe", ...}
// stdout: replies               {"reply": 7, "ok": true, "result": ...} | {"reply": 7, "ok": false, "error": "..."}
//         observations          {"obs": "<kind>", "seq": n, "t_ms": ..., ...}
// Nothing else is written to stdout: pusher-js logging goes to stderr.

import { createInterface } from 'node:readline';

let seq = 0;
const started = performance.now();

/** Turn anything (Error objects, cyclic pusher-js structures) into plain JSON-able data. */
export function plain(value, depth = 0) {
  if (value === null || value === undefined) return value ?? null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return value;
  }
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (depth > 6) return '<deep>';
  if (Array.isArray(value)) return value.map((v) => plain(v, depth + 1));
  if (typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === 'function') continue;
      out[k] = plain(v, depth + 1);
    }
    return out;
  }
  return String(value);
}

function write(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

export function observe(kind, fields) {
  seq += 1;
  write({
    obs: kind,
    seq,
    t_ms: Math.round((performance.now() - started) * 10) / 10,
    ...plain(fields),
  });
}

/**
 * Read commands from stdin and dispatch them to `handlers[cmd](message)`.
 * A handler returns a value (or a promise of one) that becomes `result`; a throw becomes `error`.
 * `onEnd` runs when stdin closes (the Python side went away): the driver must then exit.
 */
export function serve(handlers, onEnd) {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (!line.trim()) return;
    let message;
    try {
      message = JSON.parse(line);
    } catch (e) {
      write({ reply: null, ok: false, error: `bad command line: ${e.message}` });
      return;
    }
    const { id, cmd } = message;
    const handler = handlers[cmd];
    if (!handler) {
      write({ reply: id, ok: false, error: `unknown command ${cmd}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message))
      .then(
        (result) => write({ reply: id, ok: true, result: plain(result ?? null) }),
        (err) => write({ reply: id, ok: false, error: String(err?.stack ?? err) }),
      );
  });
  rl.on('close', onEnd);
}
