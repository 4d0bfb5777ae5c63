// Opaque main-site tokens, resolved through PMQ_AUTH_URL and cached in Redis.
//
// The main site answers `GET PMQ_AUTH_URL` with `Authorization: Bearer <token>`:
// 200 {"uid": "..."} for a valid token, 401/403/404 for an invalid one, anything
// else (or no answer within PMQ_AUTH_TIMEOUT_MS) means it is down.
//
// A resolved token is cached for a base TTL plus random jitter (the old system:
// 3650 s + rand(1, 3000) s, under the main site's own 7300 s), so that tokens
// cached together do not all expire together; an invalid one for a short while.
//
// Concurrent misses for one token make one call (single flight): in a process by
// sharing the promise, across gateway nodes by a short Redis lock. A node that
// finds the lock taken waits for the cache to be written (polling, at most the
// call's timeout); when the lock goes without a cache entry (that call failed, or
// its node died), it makes the call itself.
import type { RedisClient } from '../redis/client.js';
import { createHash, randomUUID } from 'node:crypto';
import { USER_ID } from '../events/event-schema.js';
import type { Keys } from '../redis/keys.js';
import { scripts } from '../redis/scripts.js';

export class InvalidTokenError extends Error {
  readonly code = 'unauthorized';
  constructor(message = 'invalid token') {
    super(message);
    this.name = 'InvalidTokenError';
  }
}

export class AuthUnavailableError extends Error {
  readonly code = 'auth_unavailable';
  constructor(reason: string) {
    super(`the main site could not check the token: ${reason}`);
    this.name = 'AuthUnavailableError';
  }
}

export interface TokenResolverOptions {
  url: string;
  timeoutMs: number;
  cacheSeconds: number;
  jitterSeconds: number;
  negativeSeconds: number;
}

export interface Resolution {
  uid: string;
  /** How long this answer stands from now: the rest of its cache entry's life. */
  ttlMs: number;
}

/** What the cache holds for an invalid token. */
const INVALID = '';
/** How often a node waiting on another's call looks at the cache. */
const POLL_MS = 25;

export class TokenResolver {
  private readonly inflight = new Map<string, Promise<Resolution>>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly opts: TokenResolverOptions,
    /** Written into the lock: which node is calling, for whoever looks. */
    private readonly nodeId: string,
  ) {}

  /**
   * The uid of a main-site token, and for how long (ms) this answer stands: the
   * rest of its cached life; throws InvalidTokenError or AuthUnavailableError. The main site tells no expiry; PMQ trusts a token
   * no longer than it trusts its cache entry.
   */
  async resolveFor(token: string): Promise<Resolution> {
    const hash = createHash('sha256').update(token).digest('base64url');
    const cached = await this.cached(hash);
    if (cached?.uid === INVALID) throw new InvalidTokenError();
    if (cached) return cached;

    let call = this.inflight.get(hash);
    if (!call) {
      call = this.resolveOnce(token, hash).finally(() => this.inflight.delete(hash));
      this.inflight.set(hash, call);
    }
    const resolution = await call;
    if (resolution.uid === INVALID) throw new InvalidTokenError();
    return resolution;
  }

  /** The cache entry and its remaining life, in one round trip. */
  private async cached(hash: string): Promise<Resolution | undefined> {
    const key = this.keys.authCache(hash);
    const [get, pttl] = (await this.redis.multi().get(key).pttl(key).exec()) ?? [];
    if (get?.[0]) throw get[0];
    const uid = get?.[1] as string | null | undefined;
    if (uid === null || uid === undefined) return undefined;
    // -1 (no expiry) cannot happen as PMQ writes it; were it so, trust it no longer than a new entry.
    const ttl = typeof pttl?.[1] === 'number' && pttl[1] >= 0 ? pttl[1] : this.opts.cacheSeconds * 1000;
    return { uid, ttlMs: ttl };
  }

  /** This process' one resolution of a missed token: its own call, or another node's. */
  private async resolveOnce(token: string, hash: string): Promise<Resolution> {
    const lock = this.keys.authLock(hash);
    const holder = `${this.nodeId}:${randomUUID()}`;
    // The lock outlives a call that times out, so that a waiter never starts a
    // second call while the first may still be answered.
    const lockMs = this.opts.timeoutMs + 1000;
    const deadline = Date.now() + this.opts.timeoutMs;
    for (;;) {
      if ((await this.redis.set(lock, holder, 'PX', lockMs, 'NX')) !== null) {
        try {
          // The call that held the lock before may have ended between this node's
          // last look at the cache and this lock: its answer stands.
          const cached = await this.cached(hash);
          if (cached) return cached;
          return await this.callMainSite(token, hash);
        } finally {
          await scripts.renewLock(this.redis, lock, holder, 0).catch(() => undefined);
        }
      }
      // Another node is calling: its answer will be in the cache. If its lock goes
      // without one (that call failed, or the node died), the next round calls.
      await new Promise((r) => setTimeout(r, POLL_MS));
      const cached = await this.cached(hash);
      if (cached) return cached;
      if (Date.now() > deadline) throw new AuthUnavailableError("timed out waiting for another node's call");
    }
  }

  private async callMainSite(token: string, hash: string): Promise<Resolution> {
    let res: Response;
    try {
      res = await fetch(this.opts.url, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
    } catch (err) {
      throw new AuthUnavailableError((err as Error).name === 'TimeoutError' ? 'timed out' : (err as Error).message);
    }
    const key = this.keys.authCache(hash);
    if (res.status === 401 || res.status === 403 || res.status === 404) {
      await res.body?.cancel();
      await this.redis.set(key, INVALID, 'EX', this.opts.negativeSeconds);
      return { uid: INVALID, ttlMs: 0 };
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new AuthUnavailableError(`HTTP ${res.status}`);
    }
    const body = (await res.json().catch(() => null)) as { uid?: unknown } | null;
    const uid = body?.uid;
    if (typeof uid !== 'string' || !USER_ID.test(uid)) throw new AuthUnavailableError('its answer has no valid uid');
    const ttl = this.opts.cacheSeconds + 1 + Math.floor(Math.random() * this.opts.jitterSeconds);
    await this.redis.set(key, uid, 'EX', ttl);
    return { uid, ttlMs: ttl * 1000 };
  }
}
