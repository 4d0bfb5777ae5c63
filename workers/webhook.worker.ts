// The `webhooks` processor: a resolved conversation's transcript, POSTed to
// PMQ_CHAT_WEBHOOK_URL so that the main site can archive it:
//
//   {"type": "conversation.resolved", "id": "<delivery id>", "conversation": {...},
//    "messages": [... oldest first]}
//
// signed with HMAC-SHA256 of the body under PMQ_CHAT_WEBHOOK_SECRET, in
// `X-PMQ-Signature: sha256=<hex>`. Anything but a 2xx is retried with backoff
// (queues.ts); a delivery may come twice (an answer lost), with the same `id`.
import { createHmac } from 'node:crypto';
import type { Job } from 'bullmq';
import type { ChatMessage } from '../src/chat/conversation.js';
import type { Context } from '../src/context.js';
import type { WebhookJob } from '../src/queues.js';
import { MAX_PAGE } from '../src/store/chat-conversations.js';

export type WebhookDeps = Pick<Context, 'chat' | 'config' | 'logger'>;

export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function webhookProcessor(ctx: WebhookDeps) {
  const { webhookUrl, webhookSecret, webhookTimeoutMs, maxMessages } = ctx.config.chat;
  return async (job: Job<WebhookJob>) => {
    if (webhookUrl === undefined || webhookSecret === undefined) return { skipped: 'no webhook configured' };
    const conversation = await ctx.chat.conversations.get(job.data.conversation);
    // Past its retention (or never there): nothing left to send.
    if (conversation === null) return { skipped: 'conversation gone' };
    const messages: ChatMessage[] = [];
    // Newest first, page by page; bounded by PMQ_CHAT_MAX_MESSAGES.
    for (let before: number | null = null; messages.length < maxMessages; ) {
      const page = await ctx.chat.conversations.messages(conversation.id, before, MAX_PAGE);
      messages.push(...page);
      if (page.length < MAX_PAGE) break;
      before = page.at(-1)!.seq;
    }
    const body = JSON.stringify({ type: 'conversation.resolved', id: job.id, conversation, messages: messages.reverse() });
    const res = await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-pmq-signature': webhookSignature(webhookSecret, body) },
      body,
      signal: AbortSignal.timeout(webhookTimeoutMs),
    });
    // Read and dropped: a body left unread holds the connection.
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`the webhook answered ${res.status}`);
    return { status: res.status, messages: messages.length };
  };
}
