// Secrets a caller presents as they are (the main site's API keys, the chat
// widget's keys), and the one way to tell whether a candidate is one of them.
import { createHash, timingSafeEqual } from 'node:crypto';

export class KeySet {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  get size(): number {
    return this.digests.length;
  }

  /**
   * Compares against every key, in constant time per key and without stopping at
   * a match, so that timing tells nothing about which key or how much of it matched.
   */
  has(candidate: string): boolean {
    const d = digest(candidate);
    let match = false;
    for (const k of this.digests) match = timingSafeEqual(d, k) || match;
    return match;
  }
}

/** Equal lengths for timingSafeEqual, whatever the lengths of the keys. */
function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
