// The one source of "now" for everything that ages: tiers, purges, token expiry
// checks that PMQ does itself. Tests inject a clock they can move forward.
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
