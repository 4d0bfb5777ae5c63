// Token buckets in this process: PMQ_RATE_LIMIT_PER_KEY requests per second per
// API key, PMQ_RATE_LIMIT_PER_USER per user for requests made with a user token,
// PMQ_CHAT_VISITORS_PER_MINUTE anonymous visitors per client address, each with
// a burst of the same size.
import type { RequestHandler } from 'express';
import type { Clock } from '../events/clock.js';
import { RateLimitedError } from '../errors.js';

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Buckets by name, each refilled with `perWindow` tokens a window. A bucket left
 * alone for a window is full again, the same as one never made: buckets live in
 * two generations a window apart, and one not touched for a whole generation is
 * dropped. So the map holds the callers of the last two windows, however many
 * there are, and nothing is forgotten early.
 */
class Buckets {
  private current = new Map<string, Bucket>();
  private previous = new Map<string, Bucket>();
  private generationAt: number;

  constructor(
    private readonly perWindow: number,
    private readonly clock: Clock,
    private readonly windowMs = 1000,
  ) {
    this.generationAt = clock.now();
  }

  /** Takes one token for `name`; returns 0 when allowed, else the seconds to wait. */
  take(name: string): number {
    if (this.perWindow <= 0) return 0;
    const now = this.clock.now();
    if (now - this.generationAt >= this.windowMs) {
      // Two windows or more since the last turn: the current generation is as old as the previous.
      this.previous = now - this.generationAt >= 2 * this.windowMs ? new Map() : this.current;
      this.current = new Map();
      this.generationAt = now;
    }
    let b = this.current.get(name);
    if (!b) {
      b = this.previous.get(name) ?? { tokens: this.perWindow, at: now };
      this.previous.delete(name);
      this.current.set(name, b);
    }
    b.tokens = Math.min(this.perWindow, b.tokens + ((now - b.at) / this.windowMs) * this.perWindow);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - b.tokens) * this.windowMs) / this.perWindow / 1000));
  }
}

export class RateLimiter {
  private readonly keys: Buckets;
  private readonly users: Buckets;

  constructor(limits: { perKey: number; perUser: number }, clock: Clock) {
    this.keys = new Buckets(limits.perKey, clock);
    this.users = new Buckets(limits.perUser, clock);
  }

  /** After authentication: limits requests by API key, or by user for a user token. */
  middleware(): RequestHandler {
    return (req, _res, next) => {
      const p = req.principal;
      if (p?.kind === 'api') {
        const wait = this.keys.take(p.key);
        if (wait > 0) throw new RateLimitedError(wait, 'API key');
      } else if (p?.kind === 'user') {
        const wait = this.users.take(p.uid);
        if (wait > 0) throw new RateLimitedError(wait, 'user');
      }
      next();
    };
  }
}

/**
 * Requests per client address (`req.ip`: the peer, or what a proxy on loopback
 * says it is) and minute, for a route that takes no secret of the caller's own:
 * the widget's key is public, so only the address tells one caller from another.
 */
export function perAddressPerMinute(perMinute: number, clock: Clock): RequestHandler {
  const addresses = new Buckets(perMinute, clock, 60_000);
  return (req, _res, next) => {
    const wait = addresses.take(req.ip ?? req.socket.remoteAddress ?? '');
    if (wait > 0) throw new RateLimitedError(wait, 'client address');
    next();
  };
}
