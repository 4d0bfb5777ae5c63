// The repair sweep (cron → maintenance `chat-sweep`): a routing step and the
// record of its conversation are two writes on two slots, and a crash between
// them leaves the record behind. The routing state is the truth of who holds
// what: each run walks a page of it (held, then queued) and brings each record
// in line, and releases what the routing still holds of a conversation that is
// resolved or gone (past its retention). Bounded per run; it goes on where the
// last run stopped. A conversation opened and never routed (a crash between the
// two) is not in the routing state: its visitor's next message routes it.
import type { Conversation, ConversationChange } from '../chat/conversation.js';
import { recordMoves, type ChatStores } from './chat-moves.js';

/** Entries of the routing state a run looks at, at most, per kind. */
export const REPAIR_PAGE = 200;

export async function repairRouting(stores: ChatStores, now: Date, page = REPAIR_PAGE): Promise<{ fixed: number; released: number }> {
  const version = await stores.routing.version();
  const changes: ConversationChange[] = [];
  let fixed = 0;
  let released = 0;
  for (const what of ['held', 'queue'] as const) {
    const { pairs } = await stores.routing.scanPage(what, page);
    const records = await Promise.all(pairs.map(([conversation]) => stores.conversations.get(conversation)));
    for (const [i, [conversation, value]] of pairs.entries()) {
      const record: Conversation | null = records[i]!;
      if (record === null || record.status === 'resolved') {
        // The slot of a conversation nobody can write in any more frees, and the queue moves.
        changes.push(...(await recordMoves(stores, await stores.routing.release(conversation), now)));
        released++;
        continue;
      }
      const agent = what === 'held' ? value : null;
      const wanted = agent === null ? 'queued' : 'assigned';
      if (record.status === wanted && record.agent === agent) continue;
      const r = await stores.conversations.follow(conversation, version, agent, now);
      if (r.outcome === 'changed' && r.conversation) {
        changes.push({ conversation: r.conversation, before: r.before, message: r.message });
        fixed++;
      }
    }
  }
  await stores.notifier.changed(changes);
  return { fixed, released };
}
