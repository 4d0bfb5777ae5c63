// Clients of a test service's /ws: the project's own PmqClient over `ws`, and a
// raw socket for what a well-behaved client would never send.
import WebSocket from 'ws';
import { PmqClient, type HelloFrame, type MessageFrame, type PmqClientOptions, type Unread, type WebSocketConstructor } from '../../src/client/index.js';
import { waitFor, type TestService } from './service.js';

export async function mintToken(t: TestService, uid: string, ttl?: number): Promise<string> {
  const r = await t.http('POST', '/v1/tokens', { body: { uid, ...(ttl !== undefined && { ttl }) } });
  if (r.status !== 201) throw new Error(`mint failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token as string;
}

export function wsUrl(t: TestService): string {
  return `${t.url.replace('http', 'ws')}/ws`;
}

/** A PmqClient that records what it receives. */
export interface RecordingClient {
  client: PmqClient;
  messages: MessageFrame[];
  unread: Unread[];
  hellos: HelloFrame[];
  closes: { code: number; reason: string }[];
  /** Resolves once `hello` has come. */
  ready: Promise<HelloFrame>;
  /** Waits until `n` distinct messages have arrived. */
  waitForMessages(n: number, timeoutMs?: number): Promise<MessageFrame[]>;
  close(): void;
}

export function recordingClient(
  url: string,
  token: string | (() => Promise<string>),
  opts: {
    autoAck?: boolean;
    since?: () => number | undefined;
    reconnect?: false | { minMs?: number; maxMs?: number };
    network?: PmqClientOptions['network'];
  } = {},
): RecordingClient {
  const client = new PmqClient({
    url,
    token,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    reconnect: opts.reconnect ?? { minMs: 50, maxMs: 200 },
    ...(opts.autoAck !== undefined && { autoAck: opts.autoAck }),
    ...(opts.since && { since: opts.since }),
    ...(opts.network !== undefined && { network: opts.network }),
  });
  const rec: RecordingClient = {
    client,
    messages: [],
    unread: [],
    hellos: [],
    closes: [],
    ready: new Promise<HelloFrame>((resolve) => client.on('hello', resolve)),
    waitForMessages: (n, timeoutMs = 15_000) =>
      waitFor(() => rec.messages.length >= n && rec.messages, timeoutMs, `${n} messages (have ${rec.messages.length})`),
    close: () => client.close(),
  };
  client.on('message', (m) => rec.messages.push(m));
  client.on('unread', (u) => rec.unread.push(u));
  client.on('hello', (h) => rec.hellos.push(h));
  client.on('close', (c) => rec.closes.push(c));
  client.connect();
  return rec;
}

export async function connectUser(t: TestService, uid: string, opts: Parameters<typeof recordingClient>[2] = {}): Promise<RecordingClient> {
  const token = await mintToken(t, uid);
  const rec = recordingClient(wsUrl(t), token, opts);
  await rec.ready;
  return rec;
}

/** A raw socket: frames in as parsed JSON, and how it closed. */
export interface RawSocket {
  ws: WebSocket;
  frames: { type: string; [k: string]: unknown }[];
  closed: Promise<{ code: number; reason: string }>;
  send(frame: unknown): void;
  waitForFrame(type: string, timeoutMs?: number): Promise<{ type: string; [k: string]: unknown }>;
}

export async function rawSocket(url: string, headers: Record<string, string> = {}): Promise<RawSocket> {
  const ws = new WebSocket(url, { headers });
  const frames: RawSocket['frames'] = [];
  ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as RawSocket['frames'][number]));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    frames,
    closed,
    send: (f) => ws.send(typeof f === 'string' ? f : JSON.stringify(f)),
    waitForFrame: (type, timeoutMs = 10_000) =>
      waitFor(() => frames.find((f) => f.type === type), timeoutMs, `a ${type} frame (have ${frames.map((f) => f.type).join(',')})`),
  };
}
