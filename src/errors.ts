// Typed errors, and the one place any error gets its meaning for a client: a
// status and a stable code, the same for HTTP's {"error": {"code", "message",
// "field"?}} (api/error-handler.ts) and the gateway's error frames and closes.
import type { ZodError } from 'zod';
import { fromZodIssue } from './events/zod-issue.js';

export class HttpError extends Error {
  /** Sent as Retry-After: when a retry may succeed (429, 503). */
  readonly retryAfterSeconds?: number;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends HttpError {
  constructor(message: string, field?: string) {
    super(400, 'invalid_request', message, field);
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(message: string, field?: string) {
    super(413, 'payload_too_large', message, field);
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  constructor(message = 'the request body must be JSON: send it with Content-Type: application/json') {
    super(415, 'unsupported_media_type', message);
  }
}

export class UnauthorizedError extends HttpError {
  constructor(message = 'missing or invalid credentials: send Authorization: Bearer <API key or token>') {
    super(401, 'unauthorized', message);
  }
}

export class TokenExpiredError extends HttpError {
  constructor() {
    super(401, 'token_expired', 'the token has expired: get a new one');
  }
}

export class ForbiddenError extends HttpError {
  constructor(message: string) {
    super(403, 'forbidden', message);
  }
}

export class NotFoundError extends HttpError {
  constructor(message = 'no such route') {
    super(404, 'not_found', message);
  }
}

/** A page whose Origin is not among those allowed to call a browser-facing route. */
export class OriginNotAllowedError extends HttpError {
  constructor(message = 'this Origin may not call this route') {
    super(403, 'origin_not_allowed', message);
  }
}

/** An id in a namespace PMQ hands out itself (chat/participants.ts): the caller may not pick it. */
export class ReservedIdError extends HttpError {
  constructor(message: string, field?: string) {
    super(400, 'reserved_uid', message, field);
  }
}

/** An `agent:<id>` that no admin has registered. */
export class UnknownAgentError extends HttpError {
  constructor(message: string, field?: string) {
    super(404, 'unknown_agent', message, field);
  }
}

/** A chat conversation that does not exist (or is past its retention). */
export class NoConversationError extends HttpError {
  constructor(message = 'no such conversation', field?: string) {
    super(404, 'no_conversation', message, field);
  }
}

/** A conversation the caller takes no part in: not its visitor, nor the agent who holds it. */
export class NotParticipantError extends HttpError {
  constructor(message = 'you take no part in this conversation', field?: string) {
    super(403, 'not_participant', message, field);
  }
}

/**
 * A chat step the state refuses now (409): `agent_unavailable` (away, offline,
 * full), `not_assigned`, `too_many_agents`, `conversation_resolved`,
 * `conversation_full`. Each is written where it is thrown: chat-refusals.ts.
 */
export class ChatConflictError extends HttpError {
  constructor(code: string, message: string, field?: string) {
    super(409, code, message, field);
  }
}

export class RateLimitedError extends HttpError {
  constructor(
    override readonly retryAfterSeconds: number,
    who: 'API key' | 'user' | 'client address' = 'API key',
  ) {
    super(429, 'rate_limited', `too many requests for this ${who}: retry after ${retryAfterSeconds} s`);
  }
}

export class UnavailableError extends HttpError {
  constructor(
    message = 'the message store is unreachable: retry later',
    override readonly retryAfterSeconds = 1,
  ) {
    super(503, 'unavailable', message);
  }
}

/**
 * A write that Redis took but that has not reached PMQ_REDIS_WAIT_REPLICAS
 * replicas in time: it may be lost in a failover, so it is not promised. The
 * events are applied once however often they are posted: post them again.
 */
export class ReplicaWaitError extends UnavailableError {
  constructor(
    readonly got: number,
    readonly wanted: number,
  ) {
    super(`the message store could not replicate the write (${got} of ${wanted} replicas): retry later`);
  }
}

/** A chat image over PMQ_CHAT_MAX_IMAGE_BYTES, refused as soon as the upload passes it. */
export class ImageTooLargeError extends HttpError {
  constructor(maxBytes: number) {
    super(413, 'image_too_large', `the image is larger than ${maxBytes} bytes`);
  }
}

/** A chat upload whose Content-Type names none of the image types PMQ keeps. */
export class UnsupportedImageTypeError extends HttpError {
  constructor(message = 'send the image with Content-Type image/png, image/jpeg, image/gif or image/webp') {
    super(415, 'unsupported_image_type', message, 'content-type');
  }
}

/** A chat upload whose first bytes are not those of a PNG, JPEG, GIF or WebP image, whatever it claims. */
export class NotAnImageError extends HttpError {
  constructor(message = 'the body is not a PNG, JPEG, GIF or WebP image') {
    super(415, 'not_an_image', message);
  }
}

/** A chat image of one type sent as another: its first bytes decide, so the client's header is wrong. */
export class ImageTypeMismatchError extends HttpError {
  constructor(declared: string, actual: string) {
    super(415, 'image_type_mismatch', `the body is ${actual}, not ${declared} as its Content-Type says`, 'content-type');
  }
}

/** A chat image id that names no kept upload (never uploaded, refused, or past its retention). */
export class NoImageError extends HttpError {
  constructor(message = 'no such image', field?: string) {
    super(404, 'no_image', message, field);
  }
}

/** A zod failure as one ValidationError naming the first wrong field (`events[3].to`). */
export function fromZod(err: ZodError, root = ''): ValidationError {
  const { message, field } = fromZodIssue(err, root);
  return new ValidationError(message, field);
}

/** A bug or a script error, not the client's doing nor a Redis that is away: log it, with its stack. */
export function isUnexpected(e: HttpError): boolean {
  return e.status >= 500 && !(e instanceof UnavailableError);
}

/** What any error means to a client, over HTTP and WS alike. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const e = err as { type?: string; status?: number; message?: string; name?: string; limit?: number };
  // body-parser's errors, by their documented `type`
  if (e.type === 'entity.too.large') {
    return new PayloadTooLargeError(`the request body is too large: at most ${e.limit ?? 'the limit of'} bytes`);
  }
  if (e.type === 'entity.parse.failed') return new ValidationError('the request body is not valid JSON');
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') {
    return new UnsupportedMediaTypeError('the request body must be UTF-8 JSON');
  }
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new HttpError(e.status, 'invalid_request', e.message ?? 'bad request');
  }
  if (isRedisFull(err)) return new UnavailableError('the message store is full for now: retry later', 5);
  if (isRedisUnavailable(err)) return new UnavailableError();
  return new HttpError(500, 'internal', 'internal error');
}

/**
 * Redis at maxmemory refuses what would take memory (`OOM command not allowed
 * ...`, also from inside a script): not now, rather than never. Retrying at
 * once rarely helps, so the client is asked to wait a little longer.
 */
function isRedisFull(err: unknown): boolean {
  return /^OOM\b/.test((err as { message?: string }).message ?? '');
}

function isRedisUnavailable(err: unknown): boolean {
  const e = err as { name?: string; message?: string; code?: string };
  return (
    e.name === 'MaxRetriesPerRequestError' ||
    e.code === 'ECONNREFUSED' ||
    /Connection is closed|Stream isn't writeable|ECONNREFUSED/.test(e.message ?? '') ||
    // A Redis that cannot take writes for now: still loading, a master left
    // without replicas (min-replicas-to-write), an old master turned replica
    // in a failover the client has not followed yet.
    /^(LOADING|NOREPLICAS|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/.test(e.message ?? '') ||
    // A cluster out of reach (the fail-fast client queues nothing meanwhile),
    // or a slot that moved under a pipeline in a failover (MOVED, ASK).
    /^(Cluster isn't ready|None of startup nodes is available|Failed to refresh slots cache|Cluster is ended|MOVED|ASK)\b/.test(e.message ?? '')
  );
}
