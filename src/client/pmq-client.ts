// A small PMQ client for Node and the browser: connects to /ws, authenticates,
// reconnects with backoff and jitter, acks what it receives, drops duplicates
// by message id, and exposes counts and messages as events.
//
//   const client = new PmqClient({ url: 'wss://pmq.example/ws', token: () => fetchToken() });
//   client.on('message', (m) => show(m));
//   client.on('unread', (u) => badge(u.total));
//   client.connect();
//
// The chat on the same socket: client.chat.send({ text: 'hi' }) (a visitor may
// leave out the conversation), client.on('chat.message', ...). A send goes out
// again, with its client_id, at every reconnect until its echo or its error
// comes back: a weak link makes one message, never none or two.
//
// In Node 20, pass `WebSocket` from the `ws` package (Node 22 has one built in).

// The frames and close codes are the protocol's own (src/protocol/: no I/O, and
// nothing of the server is loaded into a browser).
import { AUTH_FAILURES } from '../protocol/close-codes.js';
import { MAX_IDS } from '../protocol/limits.js';
import type { ErrorFrame, HelloFrame, MessageFrame, Unread } from '../protocol/server-frames.js';
import type {
  ChatAgentFrame,
  ChatConversationFrame,
  ChatMessageFrame,
  ChatQueueFrame,
  ChatReceiptFrame,
  ChatTypingFrame,
} from '../protocol/chat-frames.js';

export type { ErrorFrame, HelloFrame, MessageFrame, Unread };
export type { ChatAgentFrame, ChatConversationFrame, ChatMessageFrame, ChatQueueFrame, ChatReceiptFrame, ChatTypingFrame };

export interface ClientEvents {
  open: undefined;
  hello: HelloFrame;
  message: MessageFrame;
  unread: Unread;
  /** An error frame from the server; the socket stays open. A refused chat send names its client_id (`ref`). */
  error: ErrorFrame;
  'chat.message': ChatMessageFrame;
  'chat.conversation': ChatConversationFrame;
  'chat.queue': ChatQueueFrame;
  'chat.receipt': ChatReceiptFrame;
  'chat.typing': ChatTypingFrame;
  /** An agent's own status or capacity changed. */
  'chat.agent': ChatAgentFrame;
  close: { code: number; reason: string; willReconnect: boolean };
}

/**
 * An `on…` handler slot. Each implementation types its events its own way (the
 * browser's DOM events, `ws`' own classes), and a slot is written as well as
 * read, so no one event type fits both: the parameter is `never`, which lets
 * either in, and the client states at each handler the fields it reads (`data`
 * of a message, `code` and `reason` of a close), which both give.
 */
type HandlerSlot = ((ev: never) => unknown) | null;

/** The part of the WebSocket API this client uses: the browser's and `ws`'s both fit, as they are. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: HandlerSlot;
  onmessage: HandlerSlot;
  onclose: HandlerSlot;
  onerror: HandlerSlot;
}

/** `WebSocket` of the browser, of Node 22, or of the `ws` package. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface PmqClientOptions {
  /** The gateway's URL, e.g. wss://pmq.example/ws. */
  url: string;
  /** A token, or a function asked for one at every (re)connect. */
  token: string | (() => string | Promise<string>);
  /** Default: globalThis.WebSocket. */
  WebSocket?: WebSocketConstructor;
  /** Ack each message as it arrives. Default true. */
  autoAck?: boolean;
  /**
   * The last seq the application holds everything up to, sent at (re)connect so
   * that the server spares it what it has. Default: none (acks do that job).
   */
  since?: () => number | undefined;
  /** Reconnect delays: full jitter between 0 and min(maxMs, minMs * 2^attempt). */
  reconnect?: { minMs?: number; maxMs?: number } | false;
  /** How many recent message ids are remembered to drop duplicates. Default 10,000. */
  dedupeWindow?: number;
  /**
   * Where the browser says it went offline and back (`offline` and `online`
   * events) and whether it is online now. A socket can look open for minutes
   * after the network went away: on `offline` the client drops it at once and
   * waits; on `online` it reconnects without waiting for its backoff. Default:
   * the browser's window (none in Node); false: not watched.
   */
  network?: NetworkWatch | false;
}

/** The browser's window as the client watches it: EventTarget and navigator.onLine. */
export interface NetworkWatch {
  addEventListener(type: 'online' | 'offline', fn: () => void): void;
  removeEventListener(type: 'online' | 'offline', fn: () => void): void;
  online(): boolean;
}

/** The browser's network events, where there is a browser. */
function browserNetwork(): NetworkWatch | undefined {
  const w = globalThis as { addEventListener?: unknown; removeEventListener?: unknown; navigator?: { onLine?: boolean } };
  if (typeof w.addEventListener !== 'function' || typeof w.removeEventListener !== 'function' || typeof w.navigator?.onLine !== 'boolean') return undefined;
  const target = globalThis as unknown as Pick<NetworkWatch, 'addEventListener' | 'removeEventListener'>;
  return {
    addEventListener: (type, fn) => target.addEventListener(type, fn),
    removeEventListener: (type, fn) => target.removeEventListener(type, fn),
    online: () => w.navigator?.onLine !== false,
  };
}

const OPEN = 1;
/** The `close` event's code when the client dropped its socket because the browser went offline (as 1006: no close frame came). */
export const CLOSE_OFFLINE = 1006;

type Listener<T> = (payload: T) => void;

export class PmqClient {
  private ws: WebSocketLike | undefined;
  private readonly listeners = new Map<keyof ClientEvents, Set<Listener<never>>>();
  private readonly seen = new Set<string>();
  private readonly seenOrder: string[] = [];
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closedByUser = false;
  private _unread: Unread = { total: 0, counts: {} };
  private _lastSeq = 0;
  private _uid: string | undefined;
  private acks: string[] = [];
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  /** Chat sends not yet echoed nor refused, by client_id: sent again at every sign-in. */
  private readonly outbox = new Map<string, object>();
  private sends = 0;
  private readonly network: NetworkWatch | undefined;
  private offline = false;

  constructor(private readonly opts: PmqClientOptions) {
    this.network = opts.network === false ? undefined : (opts.network ?? browserNetwork());
  }

  /** The chat: sends, reads, typing; agents' resolve, transfer and status. */
  readonly chat = {
    /**
     * Sends a message (text or an uploaded image's id); returns its client_id.
     * Kept until its echo (`chat.message`) or an error naming it comes back, and
     * sent again, unchanged, at each reconnect meanwhile.
     */
    send: (m: { conversation?: string; text?: string; image?: string; clientId?: string }): string => {
      const clientId = m.clientId ?? `${Date.now().toString(36)}-${(this.sends++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
      const frame = {
        type: 'chat.send',
        client_id: clientId,
        ...(m.conversation !== undefined && { conversation: m.conversation }),
        ...(m.text !== undefined && { text: m.text }),
        ...(m.image !== undefined && { image: m.image }),
      };
      this.outbox.set(clientId, frame);
      if (this.connected) this.sendFrame(frame);
      return clientId;
    },
    read: (conversation: string, seq: number) => this.sendFrame({ type: 'chat.read', conversation, seq }),
    typing: (conversation: string, on: boolean) => this.sendFrame({ type: 'chat.typing', conversation, on }),
    resolve: (conversation: string) => this.sendFrame({ type: 'chat.resolve', conversation }),
    transfer: (conversation: string, to?: string) => this.sendFrame({ type: 'chat.transfer', conversation, ...(to !== undefined && { to }) }),
    status: (status: 'online' | 'away') => this.sendFrame({ type: 'agent.status', status }),
    /** Sends not yet confirmed. */
    pending: (): number => this.outbox.size,
  };

  get unread(): Unread {
    return this._unread;
  }

  /** The highest seq received so far. */
  get lastSeq(): number {
    return this._lastSeq;
  }

  get uid(): string | undefined {
    return this._uid;
  }

  get connected(): boolean {
    return this.ws?.readyState === OPEN && this._uid !== undefined;
  }

  on<K extends keyof ClientEvents>(event: K, fn: Listener<ClientEvents[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    const s = set as Set<Listener<ClientEvents[K]>>;
    s.add(fn);
    return () => s.delete(fn);
  }

  connect(): void {
    this.closedByUser = false;
    if (this.network) {
      this.network.addEventListener('offline', this.wentOffline);
      this.network.addEventListener('online', this.cameOnline);
      this.offline = !this.network.online();
    }
    void this.open();
  }

  /** Closes for good (no reconnect). */
  close(): void {
    this.closedByUser = true;
    clearTimeout(this.timer);
    this.network?.removeEventListener('offline', this.wentOffline);
    this.network?.removeEventListener('online', this.cameOnline);
    this.ws?.close(1000, 'client closed');
  }

  /** The browser lost its network: the socket is dead whatever it says; wait for `online`. */
  private readonly wentOffline = (): void => {
    this.offline = true;
    clearTimeout(this.timer);
    const ws = this.ws;
    if (ws === undefined) return;
    this.ws = undefined;
    this._uid = undefined;
    ws.close(1000, 'offline');
    this.emit('close', { code: CLOSE_OFFLINE, reason: 'the browser went offline', willReconnect: true });
  };

  private readonly cameOnline = (): void => {
    this.offline = false;
    if (this.closedByUser || this.ws !== undefined) return;
    clearTimeout(this.timer);
    this.attempt = 0;
    void this.open();
  };

  /** Acks messages; the acks of one moment go out in one frame. */
  ack(ids: string[]): void {
    this.acks.push(...ids);
    this.ackTimer ??= setTimeout(() => this.flushAcks(), 0);
  }

  private flushAcks(): void {
    this.ackTimer = undefined;
    while (this.acks.length > 0) this.sendFrame({ type: 'ack', ids: this.acks.splice(0, MAX_IDS) });
  }

  /** Marks read: all (no argument), one or more categories, or message ids. */
  read(target: { category: string | string[] } | { ids: string[] } | Record<string, never> = {}): void {
    this.sendFrame({ type: 'read', ...target });
  }

  /** Asks for the pending messages and the counts again. */
  pull(): void {
    this.sendFrame({ type: 'pull' });
  }

  ping(): void {
    this.sendFrame({ type: 'ping' });
  }

  private async open(): Promise<void> {
    if (this.offline) return; // `online` opens
    const Ctor = this.opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) throw new Error('no WebSocket implementation: pass one (e.g. from the ws package)');
    let token: string;
    try {
      token = typeof this.opts.token === 'function' ? await this.opts.token() : this.opts.token;
    } catch {
      return this.scheduleReconnect();
    }
    if (this.closedByUser || this.offline) return;
    const ws = new Ctor(this.opts.url);
    this.ws = ws;
    ws.onopen = () => {
      const since = this.opts.since?.();
      ws.send(JSON.stringify({ type: 'auth', token, ...(since !== undefined && { since }) }));
      this.emit('open', undefined);
    };
    ws.onmessage = (ev: { data: unknown }) => this.onFrame(String(ev.data));
    ws.onerror = () => undefined; // onclose follows
    ws.onclose = (ev: { code: number; reason: string }) => {
      if (this.ws !== ws) return;
      this._uid = undefined;
      const retry = !this.closedByUser && this.opts.reconnect !== false && !(AUTH_FAILURES.has(ev.code) && typeof this.opts.token === 'string');
      this.emit('close', { code: ev.code, reason: ev.reason, willReconnect: retry });
      if (retry) this.scheduleReconnect();
    };
  }

  private onFrame(text: string): void {
    let frame: { type?: string };
    try {
      frame = JSON.parse(text) as { type?: string };
    } catch {
      return;
    }
    switch (frame.type) {
      case 'hello': {
        const hello = frame as HelloFrame;
        this.attempt = 0;
        this._uid = hello.uid;
        this._unread = hello.unread;
        this.emit('hello', hello);
        this.emit('unread', hello.unread);
        // What a dropped socket may have lost: the server makes a resend one message.
        for (const frame of this.outbox.values()) this.sendFrame(frame);
        return;
      }
      case 'chat.message': {
        const m = frame as ChatMessageFrame;
        if (m.client_id !== null && m.from === this._uid) this.outbox.delete(m.client_id);
        if (this.opts.autoAck !== false) this.ack([m.id]);
        if (this.remember(m.id)) this.emit('chat.message', m);
        return;
      }
      case 'chat.conversation':
      case 'chat.queue':
      case 'chat.receipt':
      case 'chat.typing':
      case 'chat.agent':
        this.emit(frame.type, frame as never);
        return;
      case 'message': {
        const m = frame as MessageFrame;
        if (this.opts.autoAck !== false) this.ack([m.id]);
        if (this.remember(m.id)) {
          this._lastSeq = Math.max(this._lastSeq, m.seq);
          this.emit('message', m);
        }
        // Counts that came with a push: as an `unread` frame (also on a duplicate:
        // they are the newest the server has sent).
        if (m.unread) this.setUnread(m.unread);
        return;
      }
      case 'unread':
        this.setUnread(frame as Unread);
        return;
      case 'error': {
        const e = frame as ErrorFrame;
        if (e.ref !== undefined) this.outbox.delete(e.ref);
        this.emit('error', e);
        return;
      }
    }
  }

  private setUnread(u: Unread): void {
    this._unread = { total: u.total, counts: u.counts };
    this.emit('unread', this._unread);
  }

  /** True the first time an id is seen (within the window). */
  private remember(id: string): boolean {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    this.seenOrder.push(id);
    if (this.seenOrder.length > (this.opts.dedupeWindow ?? 10_000)) this.seen.delete(this.seenOrder.shift()!);
    return true;
  }

  private scheduleReconnect(): void {
    if (this.closedByUser || this.offline) return;
    const { minMs = 500, maxMs = 30_000 } = this.opts.reconnect || {};
    const cap = Math.min(maxMs, minMs * 2 ** this.attempt++);
    this.timer = setTimeout(() => void this.open(), Math.random() * cap);
  }

  private sendFrame(frame: object): void {
    if (this.ws?.readyState === OPEN) this.ws.send(JSON.stringify(frame));
  }

  private emit<K extends keyof ClientEvents>(event: K, payload: ClientEvents[K]): void {
    for (const fn of this.listeners.get(event) ?? []) (fn as Listener<ClientEvents[K]>)(payload);
  }
}
