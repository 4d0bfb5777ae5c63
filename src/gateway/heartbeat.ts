// Pings every socket once per heartbeat interval and closes the ones that do not
// answer, or whose token has expired.
//
// One timer for all sockets, and each pinged once per interval, but not all at
// once: a ping is a socket write (some 20 µs here), and 10,000 in one go held the
// event loop for 200 ms every 25 s, the push latency's worst case. A round walks
// the sockets (a live iterator: closed ones drop out) in step with the clock,
// each step taking the share of the round that is due.
import type { Clock } from '../events/clock.js';
import { CLOSE } from '../protocol/close-codes.js';
import type { Connection } from './connection.js';

/** Steps per heartbeat interval: a round of pings is spread over them. */
const STEPS = 100;

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  /** The round under way: the sockets it walks, from when, how many so far. */
  private round: { sockets: Iterator<Connection>; startedAt: number; size: number; done: number } | undefined;

  constructor(
    private readonly sockets: Set<Connection>,
    private readonly intervalMs: number,
    /** Tokens expire by the service's clock (a test's may stand still or jump). */
    private readonly clock: Clock,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.step(), Math.max(10, Math.floor(this.intervalMs / STEPS)));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private step(): void {
    const now = Date.now();
    const clockNow = this.clock.now();
    const round = (this.round ??= { sockets: this.sockets.values(), startedAt: now, size: this.sockets.size, done: 0 });
    const elapsed = now - round.startedAt;
    const due = elapsed >= this.intervalMs ? round.size : Math.ceil((round.size * elapsed) / this.intervalMs);
    while (round.done < due) {
      const next = round.sockets.next();
      if (next.done) break;
      round.done++;
      visit(next.value, clockNow);
    }
    if (elapsed >= this.intervalMs) this.round = undefined;
  }
}

/**
 * Closes a socket that missed two pings in a row, or whose token has expired
 * (4402: the client authenticates again); else pings it. The expiry is checked
 * here, once per heartbeat per socket, rather than by a timer per socket: a
 * close up to one heartbeat late, for no timer and one number per socket.
 */
function visit(c: Connection, now: number): void {
  if (!c.alive && ++c.missed >= 2) {
    c.ws.terminate();
    return;
  }
  if (c.expiresAt <= now) {
    c.close(CLOSE.tokenExpired, 'token expired');
    return;
  }
  c.alive = false;
  try {
    c.ws.ping();
  } catch {
    // closing already
  }
}
