// One socket: frames in (validated, rate-limited) and out (bounded by the send
// buffer), its heartbeat state. Kept small: a node holds tens of thousands.
import type { WebSocket } from 'ws';
import { CLIENT_FRAME_TYPES, clientFrame, unknownTypeMessage, type ClientFrame } from '../protocol/client-frames.js';
import { CLOSE } from '../protocol/close-codes.js';
import { errorFrame } from '../protocol/server-frames.js';
import { fromZodIssue } from '../events/zod-issue.js';

/**
 * A flood: more than FLOOD_FACTOR times the frame rate in each of FLOOD_SECONDS
 * whole seconds in a row. A burst fits in one second and a client at its rate
 * never comes near; a flood at 10x or 40x its rate is closed alike.
 */
const FLOOD_FACTOR = 2;
const FLOOD_SECONDS = 3;

/** Frames are JSON text, also when they come as Buffers (straight from the node channel). */
const TEXT = { binary: false } as const;

/** Where a socket keeps its Connection, so that one set of listeners serves all sockets. */
const CONNECTION = Symbol('pmq.connection');
type Tagged = WebSocket & { [CONNECTION]?: Connection };

/** Ids for logs, unique within this node (a log line carries the node id too). */
let lastId = 0;

export interface ConnectionLimits {
  framesPerSecond: number;
  maxBufferBytes: number;
  /** How long a slow reader's close frame gets before the socket is dropped without it. */
  slowCloseGraceMs: number;
  /** Told of every close this side starts, with its code (for the metrics). */
  onClose: (code: number) => void;
}

export class Connection {
  /** The Connection of a socket that has one (every socket of the gateway). */
  static of(ws: WebSocket): Connection {
    return (ws as Tagged)[CONNECTION]!;
  }

  /** A number, not a UUID: a node holds tens of thousands, and V8 keeps a UUID as fifteen pieces. */
  readonly id = ++lastId;
  /** Set once authenticated. */
  uid: string | undefined;
  /** An auth (by ?token= or frame) has begun: no second one, no auth timeout. */
  authStarted = false;
  /** A pong (or any frame) came since the last ping. */
  alive = true;
  /** Pings in a row without an answer. */
  missed = 0;
  /**
   * When the credential that let this socket in runs out (epoch ms, the service's
   * clock): the heartbeat round closes it after (4402). One number, not a timer.
   */
  expiresAt = Infinity;
  private tokens: number;
  private refilledAt: number;
  /** A `rate_limited` error was sent, and the bucket has not filled up since. */
  private warned = false;
  /** The flood count: the second under way (its start), its frames, and the seconds before it over the rate in a row. */
  private secondAt: number;
  private framesThisSecond = 0;
  private floodSeconds = 0;

  constructor(
    readonly ws: WebSocket,
    private readonly limits: ConnectionLimits,
  ) {
    (ws as Tagged)[CONNECTION] = this;
    this.tokens = limits.framesPerSecond * 2;
    this.refilledAt = Date.now();
    this.secondAt = this.refilledAt;
  }

  /**
   * Writes frames in one go. Past the send-buffer bound the socket is closed
   * (1013): a client that does not read must not grow this node's memory; it
   * reconnects and resumes by seq.
   */
  send(frames: readonly (string | Buffer)[]): boolean {
    const ws = this.ws;
    if (ws.readyState !== ws.OPEN) return false;
    if (ws.bufferedAmount > this.limits.maxBufferBytes) {
      // A client that does not read will not read the close frame either.
      this.closeSoon(CLOSE.slowConsumer, 'send buffer full: reconnect and resume by seq');
      return false;
    }
    const socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    socket?.cork();
    for (const f of frames) ws.send(f, TEXT);
    socket?.uncork();
    return true;
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) {
      this.ws.close(code, reason);
      this.limits.onClose(code);
    }
  }

  /**
   * Closes, and drops the socket if the client has not answered the close within
   * PMQ_WS_SLOW_CLOSE_GRACE_MS: a client that does not read, or whose network is
   * gone, would otherwise hold it (and a stopping node) for ws' 30 s close timeout.
   */
  closeSoon(code: number, reason: string): void {
    this.close(code, reason);
    const ws = this.ws;
    setTimeout(() => ws.terminate(), this.limits.slowCloseGraceMs).unref();
  }

  /**
   * Parses one frame. Returns it, or undefined after answering with an error
   * frame (the socket stays open) or closing a socket that floods.
   */
  parse(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): ClientFrame | undefined {
    if (!this.takeToken()) return undefined;
    if (isBinary) return this.reject('bad_frame', 'frames are JSON text');
    let raw: unknown;
    try {
      raw = JSON.parse(Array.isArray(data) ? Buffer.concat(data).toString('utf8') : data.toString());
    } catch {
      return this.reject('bad_frame', 'a frame must be a JSON object');
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      return this.reject('bad_frame', 'a frame must be a JSON object');
    }
    const type = (raw as { type?: unknown }).type;
    if (typeof type !== 'string' || !CLIENT_FRAME_TYPES.has(type)) {
      return this.reject('unknown_type', unknownTypeMessage(type), 'type');
    }
    const parsed = clientFrame.safeParse(raw);
    if (!parsed.success) {
      const { message, field } = fromZodIssue(parsed.error);
      // A refused chat.send names its client_id, so that the client knows which of its sends failed.
      const ref = (raw as { client_id?: unknown }).client_id;
      return this.reject('invalid_frame', message, field, type === 'chat.send' && typeof ref === 'string' ? ref.slice(0, 64) : undefined);
    }
    return parsed.data;
  }

  /** `ref`: the client_id of a refused chat.send. */
  reject(code: string, message: string, field?: string, ref?: string): undefined {
    this.send([errorFrame(code, message, field, ref)]);
    return undefined;
  }

  /**
   * A token bucket, the rate with a burst of twice it, decides which frames are
   * taken; the client hears of it once per episode (until the bucket is full
   * again). Apart from it, every frame counts towards the flood close: a count
   * per whole second, so that neither a burst nor frames dropped at the bucket
   * alone close a socket, and a few numbers per socket, not a list of times.
   */
  private takeToken(): boolean {
    const now = Date.now();
    const rate = this.limits.framesPerSecond;
    if (this.flooding(now, rate)) {
      this.close(CLOSE.policy, 'too many frames');
      return false;
    }
    this.tokens = Math.min(rate * 2, this.tokens + ((now - this.refilledAt) / 1000) * rate);
    this.refilledAt = now;
    if (this.tokens >= rate * 2 - 1) this.warned = false;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    if (!this.warned) {
      this.warned = true;
      this.send([errorFrame('rate_limited', `at most ${rate} frames per second`)]);
    }
    return false;
  }

  /** Counts this frame; true once FLOOD_SECONDS whole seconds in a row each had more than FLOOD_FACTOR x rate. */
  private flooding(now: number, rate: number): boolean {
    const elapsed = now - this.secondAt;
    if (elapsed >= 1000) {
      // The second under way is over; one with no frame at all came after it when elapsed >= 2 s.
      const over = elapsed < 2000 && this.framesThisSecond > FLOOD_FACTOR * rate;
      this.floodSeconds = over ? this.floodSeconds + 1 : 0;
      this.secondAt = elapsed < 2000 ? this.secondAt + 1000 : now;
      this.framesThisSecond = 0;
    }
    this.framesThisSecond++;
    return this.floodSeconds >= FLOOD_SECONDS;
  }
}
