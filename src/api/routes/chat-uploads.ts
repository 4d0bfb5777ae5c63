// Chat images over HTTP (DESIGN.md, "Images"): POST /v1/chat/uploads takes the
// raw image as its body, streamed to the store as it arrives and never parsed
// as JSON; GET /v1/chat/uploads/:id serves it back. Who may do either is
// decided in ops/chat-uploads.ts.
import { pipeline } from 'node:stream/promises';
import { Router, type ErrorRequestHandler } from 'express';
import { z } from 'zod';
import type { Context } from '../../context.js';
import type { Authenticator } from '../../auth/authenticator.js';
import type { KeySet } from '../../auth/key-set.js';
import { UPLOAD_ID, conversationId } from '../../chat/chat-schemas.js';
import { ImageTooLargeError, fromZod } from '../../errors.js';
import { imageFor, refusedUpload, uploadImage } from '../../ops/chat-uploads.js';
import { requireChatCaller } from '../auth.js';
import type { RateLimiter } from '../rate-limiter.js';

type ChatUploadsRouteDeps = Pick<Context, 'chat' | 'clock' | 'config' | 'logger'>;

const PATH = '/v1/chat/uploads';

const uploadQuery = z.strictObject({
  conversation: z
    .string({ error: (iss) => (iss.input === undefined ? 'is required: POST /v1/chat/uploads?conversation=<id>' : 'must be a conversation id') })
    .pipe(conversationId),
});

const imageParams = z.object({
  id: z.string().regex(UPLOAD_ID, { error: 'must be an upload id (from POST /v1/chat/uploads)' }),
});

/** Kept by id for good: an id never names other bytes, so a browser need never ask again. */
const IMAGE_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'private, max-age=31536000, immutable',
};

const parse = <T>(schema: z.ZodType<T>, value: unknown): T => {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw fromZod(parsed.error);
  return parsed.data;
};

/**
 * A refusal answered before the body was all read (by the store, which stops
 * at once, or by a guard before it, which never starts) closes the connection
 * after the answer. Kept alive, the connection would first have to take in the
 * rest of the body (Node reads and drops what nobody read, or waits on a body
 * left paused), and the client would go on sending it all; closed, its sending
 * fails as soon as the answer is out.
 */
const closeIfBodyUnread: ErrorRequestHandler = (err, req, res, next) => {
  if (!req.complete && !res.headersSent) res.setHeader('Connection', 'close');
  next(err);
};

export function chatUploadsRouter(ctx: ChatUploadsRouteDeps, auth: Authenticator, adminKeys: KeySet, limiter: RateLimiter): Router {
  const router = Router();
  const { maxImageBytes } = ctx.config.chat;
  // No body parser: the upload route reads its body itself, and the GET has none.
  router.use(PATH, requireChatCaller(auth, adminKeys), limiter.middleware());

  router.post(PATH, async (req, res) => {
    const q = parse(uploadQuery, req.query);
    // A client that says how large it is gets its 413 before it sends a byte;
    // one that does not (chunked) gets it when the stream passes the limit.
    const declared = Number(req.headers['content-length']);
    if (declared > maxImageBytes) throw refusedUpload(ctx.chat, new ImageTooLargeError(maxImageBytes));
    const image = await uploadImage(ctx.chat, req.chatCaller!, q.conversation, req, req.headers['content-type'], new Date(ctx.clock.now()));
    res.status(201).location(`${PATH}/${image.id}`).json({ image });
  });

  router.get(`${PATH}/:id`, async (req, res) => {
    const { id } = parse(imageParams, req.params);
    const { meta, stream } = await imageFor(ctx.chat, req.chatCaller!, id);
    res.status(200).set({ ...IMAGE_HEADERS, 'Content-Type': meta.type, 'Content-Length': String(meta.bytes) });
    try {
      await pipeline(stream, res);
    } catch (err) {
      // The status is out (or the client gone): there is no other answer to give,
      // and pipeline has closed both ends; a client sees the body cut short.
      if ((err as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE') ctx.logger.warn({ err, image: id }, 'serving a chat image failed');
    }
  });

  router.use(PATH, closeIfBodyUnread);
  return router;
}
