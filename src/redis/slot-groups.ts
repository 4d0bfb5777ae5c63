// Cutting work that spans users by hash slot, for Redis Cluster.
//
// A script touches keys of one slot only (CROSSSLOT otherwise), and an ioredis
// pipeline on a cluster goes to one node. So what serves many users at once (the
// apply of a chunk, the acks of a node, pending pages, redelivery claims) is cut
// here into groups of one slot, each group one script call, and the calls are
// sent as one pipeline per master node, the nodes in parallel. On one Redis (or
// Sentinel) there is one group and one pipeline, as before: slots cost nothing there.
import type { ChainableCommander } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { isCluster, type RedisClient } from './client.js';
import { checkWait, queueWait, type ReplicaWait } from './replica-wait.js';

/** The hash slot of a key as Redis Cluster computes it: of its hash tag (`{u:42}`) when it has one. */
export function slotOf(key: string): number {
  return calculateSlot(key);
}

/**
 * `items` in groups whose keys share a slot (in the order each slot was first
 * met, items in their order); on one Redis, one group of all. Empty in, none out.
 */
export function groupBySlot<T>(redis: RedisClient, items: Iterable<T>, keyOf: (item: T) => string): T[][] {
  if (!isCluster(redis)) {
    const all = [...items];
    return all.length > 0 ? [all] : [];
  }
  const bySlot = new Map<number, T[]>();
  for (const item of items) {
    const slot = slotOf(keyOf(item));
    const group = bySlot.get(slot);
    if (group) group.push(item);
    else bySlot.set(slot, [item]);
  }
  return [...bySlot.values()];
}

/**
 * Script calls over many users: `items` grouped by slot, each group cut into
 * calls of at most `max` in weight (an item heavier than that has a call of its
 * own), so that no call holds Redis long. On one Redis the cut alone.
 */
export function callsBySlot<T>(
  redis: RedisClient,
  items: Iterable<T>,
  keyOf: (item: T) => string,
  weightOf: (item: T) => number,
  max: number,
): T[][] {
  const calls: T[][] = [];
  for (const group of groupBySlot(redis, items, keyOf)) {
    let call: T[] = [];
    let weight = 0;
    for (const item of group) {
      const w = weightOf(item);
      if (weight > 0 && weight + w > max) {
        calls.push(call);
        call = [];
        weight = 0;
      }
      call.push(item);
      weight += w;
    }
    if (call.length > 0) calls.push(call);
  }
  return calls;
}

/** A command's outcome in a pipeline, as ioredis gives it. */
export type Settled = [error: Error | null, reply: unknown];

/**
 * Sends each batch's commands (`queue` puts them on the pipeline it is given)
 * in as few round trips as the topology allows, and resolves to each batch's
 * replies, in the order of `batches`. On a cluster a batch's commands must all
 * be of the slot of `keyOf(batch)`; the batches of one master share its
 * pipeline, the masters are sent to in parallel. Any command's error rejects
 * the whole (as pipelineResults does); execBatchesSettled keeps them apart.
 */
export async function execBatches<B>(
  redis: RedisClient,
  batches: B[],
  keyOf: (batch: B) => string,
  queue: (pipeline: ChainableCommander, batch: B) => void,
  wait?: ReplicaWait,
): Promise<unknown[][]> {
  const settled = await execBatchesSettled(redis, batches, keyOf, queue, wait);
  return settled.map((replies) =>
    replies.map(([err, reply]) => {
      if (err) throw err;
      return reply;
    }),
  );
}

/**
 * As execBatches, with each command's error beside its reply (a step that skips
 * what failed). With `wait`, each node's pipeline ends with WAIT, and too few
 * replicas reject the whole (see redis/replica-wait.ts).
 */
export async function execBatchesSettled<B>(
  redis: RedisClient,
  batches: B[],
  keyOf: (batch: B) => string,
  queue: (pipeline: ChainableCommander, batch: B) => void,
  wait?: ReplicaWait,
): Promise<Settled[][]> {
  if (batches.length === 0) return [];
  const byNode = new Map<string, number[]>();
  if (!isCluster(redis)) byNode.set('', batches.map((_, i) => i));
  else {
    batches.forEach((batch, i) => {
      const slot = slotOf(keyOf(batch));
      // The master first; before ioredis knows the slots, one pipeline per slot
      // (it routes each by its slot).
      const node = redis.slots[slot]?.[0] ?? `slot:${slot}`;
      const list = byNode.get(node);
      if (list) list.push(i);
      else byNode.set(node, [i]);
    });
  }
  const replies: Settled[][] = new Array(batches.length);
  await Promise.all(
    [...byNode.values()].map(async (indexes) => {
      const pipeline = redis.pipeline();
      const counts = indexes.map((i) => {
        const before = pipeline.length;
        queue(pipeline, batches[i]!);
        return pipeline.length - before;
      });
      const waiting = wait !== undefined && wait.replicas > 0;
      if (waiting) queueWait(pipeline, wait);
      const flat = await pipeline.exec();
      if (flat === null) throw new Error('pipeline was discarded');
      if (waiting) {
        const [err, replicas] = flat[flat.length - 1]!;
        if (err) throw err;
        checkWait(replicas, wait);
      }
      let at = 0;
      indexes.forEach((i, k) => {
        replies[i] = flat.slice(at, at + counts[k]!) as Settled[];
        at += counts[k]!;
      });
    }),
  );
  return replies;
}

/** A command and the key that places it: `queue` puts it on the pipeline of that key's node. */
export type KeyedCommand = [key: string, queue: (pipeline: ChainableCommander) => void];

/** One command per entry, each on its key's node; the replies in order. */
export async function execEach(redis: RedisClient, commands: KeyedCommand[]): Promise<unknown[]> {
  const replies = await execBatches(redis, commands, ([key]) => key, (p, [, queue]) => queue(p));
  return replies.map((r) => r[0]);
}
