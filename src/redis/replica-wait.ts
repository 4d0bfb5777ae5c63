// Waiting for replicas (PMQ_REDIS_WAIT_REPLICAS): Redis replicates after it
// answers, so a master killed outright takes with it what it accepted last. A
// write followed by WAIT on the same connection is on that many replicas once
// WAIT says so; a failover then promotes a replica that has it.
//
// Used where a loss would go unseen: the accept of events (a 202 promises them)
// and their apply (a job completed on one master while the apply it rests on
// vanished with another, under Cluster). An ack, a read or a tier move lost in
// a failover shows again and is done again; those do not wait.
import type { ChainableCommander } from 'ioredis';
import { ReplicaWaitError } from '../errors.js';
import type { RedisClient } from './client.js';
import { pipelineResults } from './pipeline.js';

export interface ReplicaWait {
  /** Replicas that must have every write before it: 0 waits for none. */
  replicas: number;
  /** How long WAIT may block; past it, the write counts as not replicated. */
  timeoutMs: number;
}

/** Puts WAIT at the end of a pipeline whose writes must be replicated: it goes on their connection. */
export function queueWait(pipeline: ChainableCommander, wait: ReplicaWait): void {
  pipeline.call('WAIT', wait.replicas, wait.timeoutMs);
}

/** WAIT's reply (the replicas that have the writes) against what was asked. */
export function checkWait(reply: unknown, wait: ReplicaWait): void {
  if (Number(reply) < wait.replicas) throw new ReplicaWaitError(Number(reply), wait.replicas);
}

/**
 * Waits until the writes sent on the connection of `key`'s node are on the
 * replicas (nothing to do when none are asked). WAIT names no key: the EXISTS
 * before it takes it, on a cluster, to that node's connection.
 */
export async function waitForReplicas(redis: RedisClient, key: string, wait: ReplicaWait): Promise<void> {
  if (wait.replicas === 0) return;
  const pipeline = redis.pipeline().exists(key);
  queueWait(pipeline, wait);
  const [, replicas] = await pipelineResults(pipeline);
  checkWait(replicas, wait);
}
