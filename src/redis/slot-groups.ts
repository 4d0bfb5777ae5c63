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
import { pipelineResults } from './pipeline.js';

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
 * Sends each batch's commands (`queue` puts them on the pipeline it is given)
 * in as few round trips as the topology allows, and resolves to each batch's
 * replies, in the order of `batches`. On a cluster a batch's commands must all
 * be of the slot `keyOf(batch)` names; batches of one master share its pipeline.
 * Any command's error rejects the whole (as pipelineResults does).
 */
export async function execBatches<B>(
  redis: RedisClient,
  batches: B[],
  keyOf: (batch: B) => string,
  queue: (pipeline: ChainableCommander, batch: B) => void,
): Promise<unknown[][]> {
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
  const replies: unknown[][] = new Array(batches.length);
  await Promise.all(
    [...byNode.values()].map(async (indexes) => {
      const pipeline = redis.pipeline();
      const counts = indexes.map((i) => {
        const before = pipeline.length;
        queue(pipeline, batches[i]!);
        return pipeline.length - before;
      });
      const flat = await pipelineResults(pipeline);
      let at = 0;
      indexes.forEach((i, k) => {
        replies[i] = flat.slice(at, at + counts[k]!);
        at += counts[k]!;
      });
    }),
  );
  return replies;
}
