// Runs one maintenance task through the real queue and worker, as cron would
// enqueue it, and waits for its result.
import { Job } from 'bullmq';
import type { MaintenanceTask } from '../../src/queues.js';
import { waitFor, type TestService } from './service.js';

export async function runMaintenance(t: TestService, task: MaintenanceTask): Promise<Record<string, number | boolean>> {
  const queue = t.service.ctx.queues.maintenance;
  const job = await queue.add(task, { task });
  return waitFor(
    async () => {
      const j = await Job.fromId(queue, job.id!);
      if (j?.failedReason) throw new Error(`maintenance ${task} failed: ${j.failedReason}`);
      return j?.finishedOn !== undefined ? (j.returnvalue as Record<string, number | boolean>) : undefined;
    },
    15_000,
    `maintenance job ${task}`,
  );
}
