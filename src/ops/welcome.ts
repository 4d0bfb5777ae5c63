// A socket of a user has authenticated: what it gets at once (the counts, the
// first page of the fast tier after the client's `since`), and what follows by
// jobs (the rest, the delayed tier, a drain; a redelivery check). Whatever the
// front end: today the gateway, tomorrow any other socket server.
import type { Config } from '../config.js';
import type { MessageView } from '../events/stored-message.js';
import { scheduleRedelivery } from '../push/redelivery.js';
import { scheduleDrain, type Queues } from '../queues.js';
import { ackThrough, pendingCount, pendingPage } from '../store/pending.js';
import { getUnread, type UnreadCounts } from '../store/unread.js';
import { counted, type AckDeps } from './ack.js';

export interface WelcomeDeps extends AckDeps {
  queues: Pick<Queues, 'delayed'>;
  config: Pick<Config, 'pageSize' | 'redeliverMax' | 'ackTimeoutMs'>;
}

export interface Welcome {
  /** false: messages after the client's `since` were purged; it should reload. */
  recovered: boolean;
  unread: UnreadCounts;
  /** The first page of the fast tier, in seq order. */
  fast: MessageView[];
}

/**
 * `send` is called with the welcome before anything is scheduled: a drain's
 * messages must not overtake it. A client's `since` acks what it holds.
 */
export async function welcome(deps: WelcomeDeps, uid: string, since: number | undefined, send: (w: Welcome) => void): Promise<void> {
  const { redis, keys, config, queues } = deps;
  let recovered = true;
  if (since !== undefined) {
    const r = await ackThrough(redis, keys, uid, since, config.pageSize);
    counted(deps, r);
    recovered = r.recovered;
  }
  const [unread, fast, delayed] = await Promise.all([
    getUnread(redis, keys, uid),
    pendingPage(redis, keys, uid, 'fast', since ?? 0, config.pageSize),
    pendingCount(redis, keys, uid, 'delayed'),
  ]);
  send({ recovered, unread, fast });
  const fastFull = fast.length === config.pageSize;
  if (fastFull || delayed > 0) await scheduleDrain(queues.delayed, uid, fastFull ? fast.at(-1)!.seq : -1);
  if (fast.length > 0 && config.redeliverMax > 0) await scheduleRedelivery(redis, keys, [uid], config.ackTimeoutMs);
}
