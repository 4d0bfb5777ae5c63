// The load: batches of events, serialised before the clock starts, POSTed with a
// fixed number in flight over keep-alive connections.
import { Agent, request } from 'node:http';
import { seededRandom } from '../../test/helpers/unread-model.js';

export interface Workload {
  /** The recipients, `<prefix>u<n>`: the completion check sums their unread hashes. */
  users: string[];
  bodies: Buffer[];
  /** Events in each body: the 202 must say that many were accepted. */
  counts: number[];
  events: number;
}

/**
 * Every event has an id of its own and a sender other than its recipient, so each
 * one must add exactly one to an unread count: the check at the end rests on that.
 * The prefix is new for every run, so a run against a service that holds older
 * data (or a second run) cannot meet its own ids or users again.
 */
export function buildWorkload(prefix: string, events: number, batch: number, userCount: number, seed: number): Workload {
  const users = Array.from({ length: userCount }, (_, i) => `${prefix}u${i}`);
  // A seed names one exact spread of recipients.
  const pick = seededRandom(seed);
  const createdAt = Date.now();
  const bodies: Buffer[] = [];
  const counts: number[] = [];
  for (let start = 0; start < events; start += batch) {
    const list = [];
    for (let n = start; n < Math.min(events, start + batch); n++) {
      const comment = n % 5 !== 0;
      list.push({
        id: `${prefix}e${n}`,
        type: comment ? 'comment' : 'notice',
        to: users[Math.floor(pick() * userCount)],
        from: `${prefix}s${n % 997}`,
        // About the size of a real notification: a title and a line of text.
        title: comment ? 'New comment on your post' : 'Scheduled maintenance tonight',
        body: comment ? `Reply #${n}: thanks, that fixed it for me. Do you know if it also works on mobile?` : 'The site will be read-only from 02:00 to 02:30 UTC.',
        created_at: createdAt + n,
      });
    }
    bodies.push(Buffer.from(JSON.stringify({ events: list })));
    counts.push(list.length);
  }
  return { users, bodies, counts, events };
}

export interface PostResult {
  /** Milliseconds per batch, from the request to the end of its 202 (retries included). */
  latenciesMs: number[];
  /** performance.now() when the first POST went out and when the last 202 came back. */
  startedAt: number;
  lastAcceptedAt: number;
  retries: number;
}

/** Status codes that say "later": the batch is sent again, which the seen-marks make exact. */
const RETRYABLE = new Set([429, 502, 503, 504]);

export async function postAll(opts: { url: string; apiKey: string; bodies: Buffer[]; counts: number[]; concurrency: number }): Promise<PostResult> {
  const target = new URL('/v1/events', opts.url);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const latenciesMs: number[] = new Array<number>(opts.bodies.length);
  let next = 0;
  let retries = 0;
  let lastAcceptedAt = 0;
  // One failed lane stops the others: the run is void, and its error is what matters.
  let failed = false;

  const postOnce = (body: Buffer): Promise<{ status: number; text: string; retryAfterS: number }> =>
    new Promise((done, fail) => {
      const req = request(
        target,
        {
          method: 'POST',
          agent,
          headers: {
            authorization: `Bearer ${opts.apiKey}`,
            'content-type': 'application/json',
            'content-length': body.length,
          },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () =>
            done({
              status: res.statusCode ?? 0,
              text: Buffer.concat(parts).toString('utf8'),
              retryAfterS: Number(res.headers['retry-after'] ?? 1) || 1,
            }),
          );
          res.on('error', fail);
        },
      );
      req.on('error', fail);
      req.end(body);
    });

  const lane = async () => {
    for (let i = next++; i < opts.bodies.length && !failed; i = next++) {
      const body = opts.bodies[i]!;
      const t0 = performance.now();
      for (let attempt = 1; ; attempt++) {
        const r = await postOnce(body).catch((err: unknown) => {
          failed = true;
          throw err;
        });
        if (r.status === 202) {
          const accepted = (JSON.parse(r.text) as { accepted?: unknown }).accepted;
          if (accepted !== opts.counts[i]) {
            failed = true;
            throw new Error(`POST /v1/events answered 202 with accepted ${String(accepted)} for ${opts.counts[i]} events: ${r.text.slice(0, 200)}`);
          }
          break;
        }
        if (!RETRYABLE.has(r.status) || attempt >= 10) {
          failed = true;
          throw new Error(`POST /v1/events answered ${r.status}: ${r.text.slice(0, 500)}`);
        }
        retries++;
        await new Promise((w) => setTimeout(w, Math.min(r.retryAfterS * 1000, 2000)));
      }
      const t1 = performance.now();
      latenciesMs[i] = t1 - t0;
      lastAcceptedAt = Math.max(lastAcceptedAt, t1);
    }
  };

  const startedAt = performance.now();
  try {
    await Promise.all(Array.from({ length: Math.min(opts.concurrency, opts.bodies.length) }, lane));
  } finally {
    agent.destroy();
  }
  return { latenciesMs, startedAt, lastAcceptedAt, retries };
}
