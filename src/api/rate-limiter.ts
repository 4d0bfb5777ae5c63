// A token bucket per API key, in this process: PMQ_RATE_LIMIT_PER_KEY requests
// per second with a burst of the same size. Keys are the configured API keys, so
// the map is bounded by their number.
import type { RequestHandler } from 'express';
import type { Clock } from '../events/clock.js';
import { RateLimitedError } from './errors.js';

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly clock: Clock,
  ) {}

  /** Takes one token for `key`; returns 0 when allowed, else the seconds to wait. */
  take(key: string): number {
    if (this.perSecond <= 0) return 0;
    const now = this.clock.now();
    const b = this.buckets.get(key) ?? { tokens: this.perSecond, at: now };
    b.tokens = Math.min(this.perSecond, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
  }

  /** After authentication: limits requests made with an API key. */
  middleware(): RequestHandler {
    return (req, _res, next) => {
      if (req.principal?.kind === 'api') {
        const wait = this.take(req.principal.key);
        if (wait > 0) throw new RateLimitedError(wait);
      }
      next();
    };
  }
}
