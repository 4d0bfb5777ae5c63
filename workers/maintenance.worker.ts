// The `maintenance` processor: tier moves, purges, the sweep of dead gateway
// nodes and the chat's sweep, in bounded batches, at the time of the injected clock.
import type { Job } from 'bullmq';
import type { Context } from '../src/context.js';
import { agentMayHaveLeft, sweepGraces } from '../src/ops/chat-presence.js';
import { repairRouting } from '../src/ops/chat-repair.js';
import { expireUploads } from '../src/ops/chat-retention.js';
import { sweepDeadNodes } from '../src/store/registry.js';
import type { MaintenanceJob } from '../src/queues.js';
import { moveDueToDelayed, purgeExpired, type Bounds } from '../src/store/tiers.js';

/** What tier moves, purges and the node sweep use. */
export type MaintenanceDeps = Pick<Context, 'redis' | 'keys' | 'metrics' | 'logger' | 'clock' | 'config' | 'chat'>;

export function maintenanceProcessor(ctx: MaintenanceDeps) {
  const bounds: Bounds = {
    users: ctx.config.maintUsersPerRound,
    perUser: ctx.config.maintMessagesPerUser,
    rounds: ctx.config.maintMaxRounds,
  };
  const onFailure = (task: MaintenanceJob['task']) => (uid: string, err: Error) => {
    ctx.metrics.maintenanceFailures.inc({ task });
    ctx.logger.error({ task, uid, err: err.message }, 'maintenance step failed for this user: skipped until the next run');
  };
  return async (job: Job<MaintenanceJob>) => {
    const now = ctx.clock.now();
    switch (job.data.task) {
      case 'tier-move': {
        const r = await moveDueToDelayed(ctx.redis, ctx.keys, now - ctx.config.fastTierMs, bounds, onFailure('tier-move'));
        ctx.metrics.tierMoves.inc(r.moved);
        if (r.moved > 0 || r.more || r.failed > 0) ctx.logger.info({ task: job.data.task, ...r }, 'tier move');
        return r;
      }
      case 'purge': {
        const r = await purgeExpired(ctx.redis, ctx.keys, now - ctx.config.retentionMs, bounds, onFailure('purge'));
        ctx.metrics.purges.inc({ state: 'pending' }, r.pending);
        ctx.metrics.purges.inc({ state: 'delivered' }, r.purged - r.pending);
        if (r.purged > 0 || r.more || r.failed > 0) ctx.logger.info({ task: job.data.task, ...r }, 'purge');
        return r;
      }
      case 'node-sweep': {
        const r = await sweepDeadNodes(ctx.redis, ctx.keys, now, ctx.config.nodeTtlMs, {
          maxNodes: 100,
          maxUsers: bounds.users * bounds.perUser,
        });
        ctx.metrics.nodesSwept.inc(r.nodes);
        // Agents whose sockets were on a dead node: their grace begins when they have none left.
        for (const agent of r.agents) await agentMayHaveLeft({ stores: ctx.chat, redis: ctx.redis, keys: ctx.keys }, agent, new Date(now), ctx.config.chat.agentGraceMs);
        if (r.nodes > 0 || r.more) ctx.logger.info({ task: job.data.task, ...r }, 'dead gateway nodes swept');
        return r;
      }
      case 'chat-sweep': {
        const offline = await sweepGraces(ctx.chat, new Date(now));
        if (offline > 0) ctx.logger.info({ task: job.data.task, offline }, 'agents whose grace ended are offline');
        const repaired = await repairRouting(ctx.chat, new Date(now));
        if (repaired.fixed > 0 || repaired.released > 0) ctx.logger.warn({ task: job.data.task, ...repaired }, 'conversations brought in line with the routing');
        const images = await expireUploads(ctx.chat, new Date(now), ctx.config.chat.retentionMs);
        if (images.removed > 0 || images.abandoned > 0) ctx.logger.info({ task: job.data.task, ...images }, 'chat images past their conversation removed');
        return { offline, ...repaired, images };
      }
      default:
        throw new Error(`unknown maintenance task ${String((job.data as { task: unknown }).task)}`);
    }
  };
}
