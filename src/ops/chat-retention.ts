// The chat's images go with their conversation: once a conversation's keys have
// expired (PMQ_CHAT_RETENTION_SECONDS after it was resolved), its images are
// removed by the chat's sweep, a bounded page a run; images of a conversation
// still kept are looked at again a retention later. Uploads a crash cut short
// are removed after an hour.
import type { ChatStores } from './chat-moves.js';

/** Uploads a run looks at, at most. */
export const RETENTION_PAGE = 200;
const ABANDONED_AFTER_MS = 3600_000;

export async function expireUploads(stores: ChatStores, now: Date, retentionMs: number) {
  const { removed, kept } = await stores.uploads.expireOlderThan(
    new Date(now.getTime() - retentionMs),
    now,
    RETENTION_PAGE,
    async (conversation) => (await stores.conversations.get(conversation)) === null,
  );
  const abandoned = await stores.uploads.removeAbandoned(new Date(now.getTime() - ABANDONED_AFTER_MS), RETENTION_PAGE);
  return { removed, kept, abandoned };
}
