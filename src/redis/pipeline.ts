// A pipeline's replies, or the first error among them: a failed command in a
// pipeline must fail the whole step (and its job, which is then retried).
import type { ChainableCommander } from 'ioredis';

export async function pipelineResults(pipeline: ChainableCommander): Promise<unknown[]> {
  const replies = await pipeline.exec();
  if (replies === null) throw new Error('pipeline was discarded');
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
