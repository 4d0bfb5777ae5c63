// The chat's load (bench:chat): one raw `ws` socket per visitor and per agent, as
// the client library would hold it, in this one process. Each socket parses every
// frame, acks each chat.message (both the echo of its own send and the other
// side's), the acks of one moment in one frame as the client library does, and
// hands the frames the bench watches to its handlers.
import { io as ioClient } from 'socket.io-client';
import WebSocket from 'ws';

export interface ChatMessage {
  id: string;
  conversation: string;
  seq: number;
  from: string;
  kind: string;
  client_id: string | null;
}

export interface ChatConversation {
  id: string;
  visitor: string;
  status: string;
  agent: string | null;
}

export interface ChatHandlers {
  message?: (sock: ChatSocket, m: ChatMessage, at: number) => void;
  conversation?: (sock: ChatSocket, c: ChatConversation, at: number) => void;
  error?: (sock: ChatSocket, e: { code: string; message: string; ref?: string }) => void;
}

/** Frames received by type, over every socket: what the service sent the load. */
export const frameCounts = new Map<string, number>();

export class ChatSocket {
  private acks: string[] = [];
  closed = false;
  /** Set by connectChat until the hello came. */
  onHello: ((hello: Record<string, unknown>) => void) | undefined;

  constructor(
    readonly uid: string,
    private readonly ws: WebSocket,
    private readonly handlers: ChatHandlers,
  ) {
    ws.on('message', (data) => this.onFrame(data.toString()));
    ws.on('close', () => (this.closed = true));
    ws.on('error', () => undefined);
  }

  send(frame: object): void {
    this.ws.send(JSON.stringify(frame));
  }

  close(): void {
    this.ws.terminate();
  }

  private onFrame(text: string): void {
    const at = performance.now();
    const frame = JSON.parse(text) as { type: string };
    frameCounts.set(frame.type, (frameCounts.get(frame.type) ?? 0) + 1);
    switch (frame.type) {
      case 'hello':
        this.onHello?.(frame as unknown as Record<string, unknown>);
        this.onHello = undefined;
        return;
      case 'chat.message': {
        const m = frame as unknown as ChatMessage;
        if (this.acks.push(m.id) === 1) {
          setTimeout(() => {
            if (!this.closed) this.send({ type: 'ack', ids: this.acks });
            this.acks = [];
          }, 0);
        }
        this.handlers.message?.(this, m, at);
        return;
      }
      case 'chat.conversation':
        this.handlers.conversation?.(this, frame as unknown as ChatConversation, at);
        return;
      case 'error':
        this.handlers.error?.(this, frame as unknown as { code: string; message: string; ref?: string });
        return;
    }
  }
}

/** `uid`'s socket, once its hello arrived (the hello is handed back: an agent's holds their status). */
export async function connectChat(
  wsUrl: string,
  uid: string,
  token: string,
  handlers: ChatHandlers,
): Promise<{ sock: ChatSocket; hello: Record<string, unknown> }> {
  const ws = new WebSocket(`${wsUrl}?token=${token}`, { perMessageDeflate: false });
  // The socket parses from its first frame: what follows the hello may come in the same read.
  const sock = new ChatSocket(uid, ws, handlers);
  const hello = await new Promise<Record<string, unknown>>((resolve, reject) => {
    sock.onHello = resolve;
    ws.once('error', reject);
    ws.once('close', (code) => reject(new Error(`socket of ${uid} closed ${code} before hello`)));
  });
  return { sock, hello };
}

/** Runs `fn` over `items`, `concurrency` at a time. */
export async function inBatches<T, R>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}

/**
 * A socket of a chat peer (bench/peers/chat-*-server.ts): the same visitor or
 * agent, on the peer's own client. It acks nothing (the peers do not ask for it);
 * each chat.message from the other side goes to onMessage.
 */
export interface RelaySocket {
  uid: string;
  /** One message to `to` (ws: named in the frame) in `conversation` (Socket.IO: its room). */
  send(to: string, conversation: string, clientId: string, text: string): void;
  /** Socket.IO: joins the rooms, resolved once joined; ws: nothing to do. */
  join(conversations: string[]): Promise<void>;
  close(): void;
}

export type RelayOnMessage = (sock: RelaySocket, m: { from: string; client_id: string }, at: number) => void;

export async function connectRelay(peer: 'ws' | 'socketio', port: number, uid: string, onMessage: RelayOnMessage): Promise<RelaySocket> {
  if (peer === 'ws') {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/?uid=${encodeURIComponent(uid)}`, { perMessageDeflate: false });
    const sock: RelaySocket = {
      uid,
      send: (to, _conversation, clientId, text) => ws.send(JSON.stringify({ type: 'chat.send', to, client_id: clientId, text })),
      join: () => Promise.resolve(),
      close: () => ws.terminate(),
    };
    ws.on('message', (data) => {
      const at = performance.now();
      const frame = JSON.parse(data.toString()) as { type: string; from: string; client_id: string };
      frameCounts.set(`ws:${frame.type}`, (frameCounts.get(`ws:${frame.type}`) ?? 0) + 1);
      if (frame.type === 'chat.message') onMessage(sock, frame, at);
    });
    // The server registers the socket before its side of the handshake completes.
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('error', () => undefined);
    return sock;
  }
  const socket = ioClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { uid } });
  const sock: RelaySocket = {
    uid,
    send: (_to, conversation, clientId, text) => socket.emit('chat.send', { conversation, client_id: clientId, text }),
    join: (conversations) => new Promise<void>((resolve) => socket.emit('join', conversations, () => resolve())),
    close: () => socket.disconnect(),
  };
  socket.on('chat.message', (m: { from: string; client_id: string }) => {
    const at = performance.now();
    frameCounts.set('socketio:chat.message', (frameCounts.get('socketio:chat.message') ?? 0) + 1);
    onMessage(sock, m, at);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return sock;
}
