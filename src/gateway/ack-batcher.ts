// Acks from all the sockets of this node, gathered for a moment and applied in
// one pipeline: at thousands of deliveries a second, one round trip (and one
// ioredis pipeline) per ack frame would cost more than the push itself. An ack
// has no answer, so waiting a few milliseconds changes nothing for the client; a
// node that dies before a flush loses those acks, and the messages, still
// pending, are simply sent again. What an ack does is ops/ack.ts' (as over HTTP);
// this only gathers them.
import { isUnexpected, toHttpError } from '../errors.js';
import type { Logger } from '../logger.js';
import { ackOfUsers, type AckDeps } from '../ops/ack.js';

/** How long acks gather before they are applied. */
const FLUSH_AFTER_MS = 5;
/** Ids held at most: past this, a flush starts at once. */
const MAX_HELD = 10_000;

export class AckBatcher {
  private held = new Map<string, Set<string>>();
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly deps: AckDeps & { logger: Logger }) {}

  add(uid: string, ids: string[]): void {
    let set = this.held.get(uid);
    if (!set) {
      set = new Set();
      this.held.set(uid, set);
    }
    for (const id of ids) set.add(id);
    this.count += ids.length;
    if (this.count >= MAX_HELD) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_AFTER_MS);
  }

  /** Applies what is held; resolves when it is in Redis (or failed and was logged). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.held;
    this.held = new Map();
    this.count = 0;
    if (batch.size === 0) return this.flushing;
    this.flushing = this.flushing.then(() => this.apply(batch));
    return this.flushing;
  }

  private async apply(batch: Map<string, Set<string>>): Promise<void> {
    try {
      await ackOfUsers(this.deps, batch);
    } catch (err) {
      // As for a frame's error (errors.ts): a bug is logged with its stack, a Redis away is a warning.
      const { logger } = this.deps;
      if (isUnexpected(toHttpError(err))) logger.error({ users: batch.size, err }, 'acks not applied: the messages stay pending');
      else logger.warn({ users: batch.size, err: (err as Error).message }, 'acks not applied: the messages stay pending');
    }
  }
}
