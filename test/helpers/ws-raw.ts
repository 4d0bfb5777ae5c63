// Low-level sockets for the gateway's edge cases: a raw `ws` client with any of
// its options (no automatic pong, an Origin header), what an upgrade that is
// refused answers, and a stand-in for the main site's token endpoint.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { waitFor } from './service.js';
import type { RawSocket } from './ws-client.js';

export type Frame = RawSocket['frames'][number];

/** A RawSocket that also says when it closed, and waits for frames after a mark. */
export interface ProbeSocket extends RawSocket {
  /** Set once the socket has closed. */
  closedWith: { code: number; reason: string; at: number } | undefined;
  /** WebSocket ping frames received from the server. */
  pings: number;
  /** Frames of `type` received from index `from` on. */
  framesOf(type: string, from?: number): Frame[];
  /** Waits for the first frame of `type` at or after index `from`. */
  waitForFrameFrom(type: string, from: number, timeoutMs?: number): Promise<Frame>;
  /**
   * A marker on the socket that no rate limit drops: a WebSocket ping, which the
   * server's ws answers once it has read every frame sent before it, after what
   * the server wrote in answer to those. Resolves on its pong.
   */
  roundTrip(timeoutMs?: number): Promise<void>;
}

/** Opens a socket with `ws` client options; resolves once it is open. */
export async function openSocket(url: string, options: WebSocket.ClientOptions = {}): Promise<ProbeSocket> {
  const ws = new WebSocket(url, options);
  const frames: Frame[] = [];
  ws.on('message', (d, isBinary) => {
    if (!isBinary) frames.push(JSON.parse(d.toString()) as Frame);
  });
  let closedWith: ProbeSocket['closedWith'];
  let pings = 0;
  ws.on('ping', () => pings++);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => {
      closedWith = { code, reason: reason.toString(), at: Date.now() };
      resolve({ code, reason: reason.toString() });
    }),
  );
  ws.on('error', () => undefined); // 'close' follows
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    ws.once('close', (code) => reject(new Error(`closed before open: ${code}`)));
  });
  const framesOf = (type: string, from = 0) => frames.slice(from).filter((f) => f.type === type);
  return {
    ws,
    frames,
    closed,
    get closedWith() {
      return closedWith;
    },
    get pings() {
      return pings;
    },
    send: (f) => ws.send(typeof f === 'string' ? f : JSON.stringify(f)),
    framesOf,
    waitForFrame: (type, timeoutMs = 5000) => waitForFrameFrom(frames, type, 0, timeoutMs),
    waitForFrameFrom: (type, from, timeoutMs = 5000) => waitForFrameFrom(frames, type, from, timeoutMs),
    roundTrip: async (timeoutMs = 5000) => {
      let ponged = false;
      ws.once('pong', () => (ponged = true));
      ws.ping();
      await waitFor(() => ponged, timeoutMs, 'the pong of a WebSocket ping');
    },
  };
}

function waitForFrameFrom(frames: Frame[], type: string, from: number, timeoutMs: number): Promise<Frame> {
  return waitFor(
    () => frames.slice(from).find((f) => f.type === type),
    timeoutMs,
    `a ${type} frame (have ${frames.map((f) => f.type).join(',')})`,
  );
}

/**
 * Tries an upgrade that should be refused: resolves with the HTTP status of the
 * answer ('unexpected-response'), rejects if a socket opens after all.
 */
export function refusedUpgrade(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (req, res: IncomingMessage) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      req.destroy();
    });
    ws.on('error', () => undefined); // after req.destroy()
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
  });
}

export type MainSiteAnswer =
  /** 200 {"uid"} when uid is given, else an error body with the status; after delayMs. */
  | { status: number; uid?: string; delayMs?: number }
  /** Never answers (until the test ends). */
  | 'hang'
  /** Drops the connection without an answer. */
  | 'drop';

/**
 * The main site's token endpoint: `GET /` with `Authorization: Bearer <token>`.
 * `answer` decides per token (default: 401); every call is recorded.
 */
export interface MainSite {
  url: string;
  calls: string[];
  callsFor(token: string): number;
  answer: (token: string) => MainSiteAnswer;
  close(): Promise<void>;
}

export async function startMainSite(answer: (token: string) => MainSiteAnswer = () => ({ status: 401 })): Promise<MainSite> {
  const site: MainSite = {
    url: '',
    calls: [],
    callsFor: (token) => site.calls.filter((t) => t === token).length,
    answer,
    close: () => closeServer(server),
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    site.calls.push(token);
    const a = site.answer(token);
    if (a === 'hang') return;
    if (a === 'drop') return void req.socket.destroy();
    const body = a.uid !== undefined ? { uid: a.uid } : { error: `HTTP ${a.status}` };
    const send = () => {
      if (!req.socket.destroyed) res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (a.delayMs) setTimeout(send, a.delayMs);
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  site.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/whoami`;
  return site;
}

/** A URL where nothing listens: a port that was just given back. */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await closeServer(server);
  return `http://127.0.0.1:${port}/whoami`;
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
