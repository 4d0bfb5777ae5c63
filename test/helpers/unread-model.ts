// What the counters should say, computed without Redis: a seeded stream of random
// events (duplicates, re-posts, self-comments, ids shared between users), a plain
// in-memory model of what PMQ must make of them, and a check that compares the
// model with what the HTTP API answers, user by user.
import type { TestService } from './service.js';

/** mulberry32: a small seeded PRNG, so that a failing run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of this run: PMQ_TEST_SEED when set (to replay a failure), else a fresh one. */
export function testSeed(): number {
  const given = process.env.PMQ_TEST_SEED;
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isInteger(n) || n < 0) throw new Error(`PMQ_TEST_SEED must be a non-negative integer, got ${given}`);
    return n;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

/** An event as the main site posts it. */
export interface TestEvent {
  id: string;
  type: string;
  to: string;
  from?: string;
  title?: string;
}

interface ModelMessage {
  category: string;
  counted: boolean;
  read: boolean;
}

export interface Counts {
  uid: string;
  total: number;
  counts: Record<string, number>;
}

/**
 * What PMQ must make of the events, in the plainest terms: a message per distinct
 * (recipient, event id); a self-comment (from == to) is kept but never unread;
 * reading by category or all reads every counted message applied so far; reading
 * by id reads that user's own counted messages only.
 */
export class UnreadModel {
  private readonly byUser = new Map<string, Map<string, ModelMessage>>();

  apply(e: TestEvent): void {
    let msgs = this.byUser.get(e.to);
    if (!msgs) this.byUser.set(e.to, (msgs = new Map()));
    if (msgs.has(e.id)) return; // a duplicate for this user: changes nothing
    msgs.set(e.id, { category: e.type, counted: e.from !== e.to, read: false });
  }

  readIds(uid: string, ids: string[]): void {
    const msgs = this.byUser.get(uid);
    for (const id of ids) {
      const m = msgs?.get(id);
      if (m?.counted) m.read = true;
    }
  }

  readCategories(uid: string, categories: string[]): void {
    for (const m of this.byUser.get(uid)?.values() ?? []) {
      if (m.counted && categories.includes(m.category)) m.read = true;
    }
  }

  readAll(uid: string): void {
    for (const m of this.byUser.get(uid)?.values() ?? []) if (m.counted) m.read = true;
  }

  users(): string[] {
    return [...this.byUser.keys()].sort();
  }

  /** The user's message ids, in no particular order. */
  messageIds(uid: string): string[] {
    return [...(this.byUser.get(uid)?.keys() ?? [])];
  }

  /** Whether the user's message is unread; undefined when the user has no such message. */
  isUnread(uid: string, id: string): boolean | undefined {
    const m = this.byUser.get(uid)?.get(id);
    return m && m.counted && !m.read;
  }

  /** The answer GET /v1/users/:uid/unread must give. */
  counts(uid: string): Counts {
    const counts: Record<string, number> = {};
    let total = 0;
    for (const m of this.byUser.get(uid)?.values() ?? []) {
      if (m.counted && !m.read) {
        counts[m.category] = (counts[m.category] ?? 0) + 1;
        total++;
      }
    }
    return { uid, total, counts: sortKeys(counts) };
  }

  /** Messages counted and not read, over every user. */
  totalUnread(): number {
    let n = 0;
    for (const uid of this.byUser.keys()) n += this.counts(uid).total;
    return n;
  }

  /** Distinct (user, event id) pairs: the messages PMQ must hold. */
  totalMessages(): number {
    let n = 0;
    for (const msgs of this.byUser.values()) n += msgs.size;
    return n;
  }
}

export function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export interface WorkloadOptions {
  /** Events posted in all, duplicates included. */
  events: number;
  users: number;
  categories: readonly string[];
  /** The largest batch; sizes are drawn from 1 to this. */
  maxBatch: number;
  /** Prefix of new event ids, so that two workloads of one test never share ids. */
  idPrefix?: string;
  /** Prefix of user ids (default `u`), so that two workloads on one service never share users. */
  userPrefix?: string;
  /** Events that earlier workloads posted: this one re-posts some of them too. */
  earlier?: TestEvent[];
}

export const CATEGORIES = ['comment', 'notice', 'like', 'follow', 'mention.reply', 'sys_alert-2'] as const;

/**
 * Random batches of events: mostly new ones, some repeated within their batch,
 * some re-posts of earlier batches' events, one in ten a self-comment, some with no
 * sender (system notices), and now and then an event id that another user's event
 * already carries (a different message: seen-marks are per user). A few users get
 * many events (their feeds take several pages), most get a few.
 */
export function generateBatches(rand: () => number, opts: WorkloadOptions): TestEvent[][] {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const user = () => `${opts.userPrefix ?? 'u'}${Math.floor(opts.users * rand() ** 2)}`;
  const prefix = opts.idPrefix ?? 'e';
  const posted: TestEvent[] = [...(opts.earlier ?? [])];
  const batches: TestEvent[][] = [];
  let next = 0;
  let left = opts.events;
  while (left > 0) {
    const size = Math.min(left, 1 + Math.floor(rand() * opts.maxBatch));
    const batch: TestEvent[] = [];
    for (let i = 0; i < size; i++) {
      const r = rand();
      if (r < 0.05 && batch.length > 0) {
        batch.push({ ...pick(batch) }); // the same event twice in one request
      } else if (r < 0.15 && posted.length > 0) {
        batch.push({ ...pick(posted) }); // re-posted from an earlier request
      } else {
        const to = user();
        // Mostly a fresh id; sometimes an id another user's event already carries.
        const id = r < 0.18 && posted.length > 0 ? pick(posted).id : `${prefix}${next++}`;
        const kind = rand();
        const from = kind < 0.1 ? to : kind < 0.25 ? undefined : user();
        const e: TestEvent = { id, type: pick(opts.categories), to };
        if (from !== undefined) e.from = from;
        if (rand() < 0.3) e.title = `title ${id}`;
        batch.push(e);
      }
    }
    batches.push(batch);
    posted.push(...batch);
    left -= size;
  }
  // A drawn id may land on a user who already has it: a re-post then, so it must be
  // an exact copy of the first event of that (to, id), as a real re-post would be.
  return canonicalise(batches, opts.earlier ?? []);
}

/** Makes every event with a given (to, id) an exact copy of the first one posted. */
function canonicalise(batches: TestEvent[][], earlier: TestEvent[]): TestEvent[][] {
  const first = new Map<string, TestEvent>();
  for (const e of earlier) if (!first.has(`${e.to}\u0000${e.id}`)) first.set(`${e.to}\u0000${e.id}`, e);
  return batches.map((batch) =>
    batch.map((e) => {
      const key = `${e.to}\u0000${e.id}`;
      const f = first.get(key);
      if (f) return { ...f };
      first.set(key, e);
      return e;
    }),
  );
}

/** Runs `fn` over `items`, at most `limit` at a time. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(runners);
  return out;
}

/**
 * Posts the batches over HTTP, `parallel` requests at a time, and applies each
 * accepted batch to the model. A batch of one goes as a bare event, the others as
 * {"events": [...]}. Throws unless every answer is 202 with the batch's size.
 */
export async function postBatches(t: TestService, model: UnreadModel, batches: TestEvent[][], parallel = 3): Promise<void> {
  await mapLimit(batches, parallel, async (batch, i) => {
    const body = batch.length === 1 ? batch[0] : { events: batch };
    const r = await t.http('POST', '/v1/events', { body });
    if (r.status !== 202 || r.body?.accepted !== batch.length) {
      throw new Error(`batch ${i} (${batch.length} events): ${r.status} ${JSON.stringify(r.body)}`);
    }
    for (const e of batch) model.apply(e);
  });
}

interface FeedMessage {
  id: string;
  seq: number;
  state: string;
}

/**
 * Compares what the HTTP API says of each user with the model and returns every
 * difference found (an empty list when they agree): the unread counts, and with
 * `feeds` the whole feed, paged: the same ids, seq numbers 1..n without a gap or
 * a repeat, unread messages pending and the others read.
 */
export async function compareWithModel(
  t: TestService,
  model: UnreadModel,
  uids: string[],
  opts: { feeds: boolean; parallel?: number },
): Promise<string[]> {
  const problems: string[] = [];
  await mapLimit(uids, opts.parallel ?? 16, async (uid) => {
    const unread = await t.http('GET', `/v1/users/${uid}/unread`);
    const want = model.counts(uid);
    const got = unread.status === 200 ? { ...unread.body, counts: sortKeys(unread.body.counts ?? {}) } : unread;
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      problems.push(`${uid} unread: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    }
    if (!opts.feeds) return;

    const feed: FeedMessage[] = [];
    let before: number | null = null;
    for (let page = 0; page < 1000; page++) {
      const q: string = before === null ? '?limit=100' : `?limit=100&before=${before}`;
      const r = await t.http('GET', `/v1/users/${uid}/messages${q}`);
      if (r.status !== 200) {
        problems.push(`${uid} messages${q}: ${r.status} ${JSON.stringify(r.body)}`);
        return;
      }
      feed.push(...(r.body.messages as FeedMessage[]));
      before = r.body.next_before;
      if (before === null) break;
    }
    const ids = model.messageIds(uid);
    if (feed.length !== ids.length) problems.push(`${uid} feed: ${feed.length} messages, want ${ids.length}`);
    const seqs = feed.map((m) => m.seq).join(',');
    const wantSeqs = Array.from({ length: feed.length }, (_, i) => feed.length - i).join(',');
    if (seqs !== wantSeqs) problems.push(`${uid} feed: seqs ${seqs}, want ${feed.length}..1`);
    const seen = new Set<string>();
    for (const m of feed) {
      if (seen.has(m.id)) problems.push(`${uid} feed: ${m.id} listed twice`);
      seen.add(m.id);
      const unreadInModel = model.isUnread(uid, m.id);
      if (unreadInModel === undefined) problems.push(`${uid} feed: ${m.id} was never posted to this user`);
      else if ((m.state !== 'read') !== unreadInModel) {
        problems.push(`${uid} feed: ${m.id} is ${m.state}, want ${unreadInModel ? 'pending' : 'read'}`);
      }
    }
    for (const id of ids) if (!seen.has(id)) problems.push(`${uid} feed: ${id} missing`);
  });
  // Count differences first, then feed differences, each user by user.
  const rank = (p: string) => (p.includes(' unread: ') ? 0 : 1);
  return problems.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}
