// The `gateway` role: WebSocket upgrades on /ws, authentication, the sockets of
// this node by user, and what arrives on the node's channel written to them.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Redis } from 'ioredis';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Authenticator } from '../auth/authenticator.js';
import { TokenExpiredError, UnauthorizedError, isUnexpected, toHttpError } from '../errors.js';
import type { Context } from '../context.js';
import { categoryList } from '../events/read-schema.js';
import { createRedis } from '../redis/connection.js';
import { pull } from '../ops/pull.js';
import { read } from '../ops/read.js';
import { welcome } from '../ops/welcome.js';
import { AckBatcher } from './ack-batcher.js';
import { Connection, type ConnectionLimits } from './connection.js';
import { fromZodIssue } from '../events/zod-issue.js';
import { authFrame, type ClientFrame } from '../protocol/client-frames.js';
import { CLOSE } from '../protocol/close-codes.js';
import type { NodeMessage } from '../protocol/node-message.js';
import { helloFrame, messageFrameText, unreadFrame } from '../protocol/server-frames.js';
import { listenOnNodeChannel } from './node-channel.js';
import { Registry } from '../store/registry.js';
import { AuthUnavailableError, InvalidTokenError, TokenResolver } from '../auth/token-resolver.js';

export const WS_PATH = '/ws';

/** Steps per heartbeat interval: a round of pings is spread over them. */
const PING_STEPS = 100;

export class Gateway {
  private readonly wss: WebSocketServer;
  private readonly all = new Set<Connection>();
  /** A user's sockets on this node: an array, as most users have one (a Set costs more). */
  private readonly byUser = new Map<string, Connection[]>();
  private readonly registry: Registry;
  private readonly acks: AckBatcher;
  private readonly resolver: TokenResolver | undefined;
  /** One object for every socket's limits, not one each. */
  private readonly limits: ConnectionLimits;
  private subscriber: Redis | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** The heartbeat round under way: the sockets it walks, from when, how many so far. */
  private pingRound: { sockets: Iterator<Connection>; startedAt: number; size: number; done: number } | undefined;
  private stopping = false;
  /**
   * One set of listeners for every socket (`this` is the socket), not closures
   * per socket: at tens of thousands of sockets those were a tenth of what the
   * gateway held per socket.
   */
  private readonly listeners = ((gateway: Gateway) => ({
    message(this: WebSocket, data: RawData, isBinary: boolean) {
      gateway.onSocketMessage(Connection.of(this), data, isBinary);
    },
    pong(this: WebSocket) {
      const conn = Connection.of(this);
      conn.alive = true;
      conn.missed = 0;
    },
    close(this: WebSocket) {
      gateway.onClose(Connection.of(this));
    },
    // 'close' follows; 1009 and the like are ws' own
    error() {},
  }))(this);

  constructor(
    private readonly ctx: Context,
    private readonly auth: Authenticator,
  ) {
    const { config } = ctx;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.wsMaxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.registry = new Registry(ctx.redis, ctx.keys, config.nodeId, ctx.clock, ctx.logger);
    this.limits = {
      framesPerSecond: config.wsFramesPerSecond,
      maxBufferBytes: config.wsMaxBufferBytes,
      onClose: (code) => ctx.metrics.serverCloses.inc({ code: String(code) }),
    };
    this.acks = new AckBatcher(ctx);
    this.resolver = config.authUrl
      ? new TokenResolver(
          ctx.redis,
          ctx.keys,
          {
            url: config.authUrl,
            timeoutMs: config.authTimeoutMs,
            cacheSeconds: config.authCacheSeconds,
            jitterSeconds: config.authCacheJitterSeconds,
            negativeSeconds: config.authNegativeSeconds,
          },
          config.nodeId,
        )
      : undefined;
  }

  get connections(): number {
    return this.all.size;
  }

  /** Listens on the node channel, starts the heartbeats, takes upgrades on `server`. */
  async start(server: Server): Promise<void> {
    const { config, keys, logger } = this.ctx;
    this.subscriber = createRedis(this.ctx.redisTarget, `${config.nodeId}:sub`, logger, { maxRetriesPerRequest: null });
    let first = true;
    this.subscriber.on('ready', () => {
      // After a reconnect the registry may have lost this node's users (a Redis
      // restart, a sweep while we were cut off): write them again.
      if (!first) void this.registry.addAll(this.byUser.keys()).catch(() => undefined);
      first = false;
    });
    await listenOnNodeChannel(this.subscriber, keys.nodeChannel(config.nodeId), logger, (m) => this.onNodeMessage(m));
    await this.registry.startHeartbeat(Math.max(1000, Math.floor(config.nodeTtlMs / 3)), () =>
      void this.registry.addAll(this.byUser.keys()).catch(() => undefined),
    );
    this.heartbeat = setInterval(() => this.pingDue(), Math.max(10, Math.floor(config.heartbeatMs / PING_STEPS)));
    server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    logger.info({ path: WS_PATH }, 'gateway listening');
  }

  /**
   * Takes this node out of the registry first (pushes stop coming here), then
   * closes every socket with 1012 so that clients reconnect to another node.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.heartbeat);
    this.registry.stopHeartbeat();
    await this.registry.removeAll(this.byUser.keys()).catch((err: Error) =>
      this.ctx.logger.warn({ err: err.message }, 'could not remove this node from the registry'),
    );
    for (const c of this.all) c.close(CLOSE.restart, 'server restart: reconnect');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await this.acks.flush();
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== WS_PATH) return refuse(socket, 404, 'Not Found');
    if (this.stopping) return refuse(socket, 503, 'Service Unavailable');
    // The allow-list keeps other sites' pages out (browsers always send Origin);
    // a client without one (a mobile app, a server) is no such page.
    const origins = this.ctx.config.wsOrigins;
    const origin = req.headers.origin;
    if (origins.length > 0 && origin !== undefined && !origins.includes(origin)) return refuse(socket, 403, 'Forbidden');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, url));
  }

  private onConnection(ws: WebSocket, url: URL): void {
    const { config } = this.ctx;
    const conn = new Connection(ws, this.limits);
    this.all.add(conn);
    const { listeners } = this;
    ws.on('pong', listeners.pong);
    ws.on('error', listeners.error);
    ws.on('close', listeners.close);
    ws.on('message', listeners.message);

    const token = url.searchParams.get('token');
    if (token !== null) {
      const since = parseSince(url.searchParams.get('since'));
      if (since === null) return conn.close(CLOSE.unauthorized, 'since: must be a seq number');
      // The URL is the auth frame in another form: refused as the frame is (and
      // never passed on to the main site), then closed, as it holds no other token.
      const checked = authFrame.safeParse({ type: 'auth', token });
      if (!checked.success) {
        const { message, field } = fromZodIssue(checked.error);
        conn.reject('invalid_frame', message, field);
        return conn.close(CLOSE.unauthorized, 'invalid token');
      }
      void this.authenticate(conn, token, since);
      return;
    }
    const timer = setTimeout(() => {
      // An auth frame that came in time is answered, however long its check takes.
      if (!conn.authStarted) conn.close(CLOSE.authTimeout, 'no auth frame in time');
    }, config.wsAuthTimeoutMs);
    ws.once('close', () => clearTimeout(timer));
  }

  private onSocketMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    conn.alive = true;
    // Whatever a frame does, it must not throw out of this listener: that would
    // take the whole node down.
    try {
      const frame = conn.parse(data, isBinary);
      if (frame) void this.onFrame(conn, frame).catch((err: Error) => this.onFrameError(conn, err));
    } catch (err) {
      this.onFrameError(conn, err as Error);
    }
  }

  private async onFrame(conn: Connection, frame: ClientFrame): Promise<void> {
    if (frame.type === 'auth') {
      if (conn.authStarted) return void conn.reject('already_authenticated', 'this socket is already authenticated');
      return this.authenticate(conn, frame.token, frame.since);
    }
    const uid = conn.uid;
    if (uid === undefined) return void conn.reject('unauthenticated', 'send an auth frame first');
    switch (frame.type) {
      case 'ping':
        conn.send(['{"type":"pong"}']);
        return;
      case 'ack':
        this.acks.add(uid, frame.ids);
        return;
      case 'read': {
        const target =
          frame.ids !== undefined
            ? { ids: frame.ids }
            : frame.category !== undefined
              ? { categories: categoryList(frame.category) }
              : { all: true as const };
        // No answer of its own: a read that changed something reaches this
        // socket as `unread`, with the user's other sockets.
        await read(this.ctx, uid, target);
        return;
      }
      case 'pull': {
        const { messages, unread } = await pull(this.ctx, uid);
        conn.send([...messages.map(messageFrameText), unreadFrame(unread)]);
        return;
      }
    }
  }

  /** Never rejects: whatever fails closes the socket with a code that says why. */
  private async authenticate(conn: Connection, token: string, since: number | undefined): Promise<void> {
    conn.authStarted = true;
    try {
      await this.authenticateOrThrow(conn, token, since);
    } catch (err) {
      if (err instanceof TokenExpiredError) return conn.close(CLOSE.tokenExpired, 'token expired');
      if (err instanceof AuthUnavailableError) return conn.close(CLOSE.authUnavailable, 'cannot check the token now: retry later');
      if (err instanceof InvalidTokenError || err instanceof UnauthorizedError) return conn.close(CLOSE.unauthorized, 'invalid token');
      // The store (the registry, the backlog, the token cache) is unreachable, or
      // a bug: both close with 1011, but only the first says "retry later" and
      // only the second is logged with its stack, as errors.ts maps them.
      const e = toHttpError(err);
      if (isUnexpected(e)) {
        this.ctx.logger.error({ conn: conn.id, uid: conn.uid, err }, 'auth failed');
        return conn.close(CLOSE.internal, 'internal error');
      }
      this.ctx.logger.warn({ conn: conn.id, uid: conn.uid, err: (err as Error).message }, 'auth failed');
      conn.close(CLOSE.internal, 'the message store is unreachable: retry later');
    }
  }

  private async authenticateOrThrow(conn: Connection, token: string, since: number | undefined): Promise<void> {
    const { uid, expiresAt } = await this.verify(token);
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    const conns = this.byUser.get(uid);
    const max = this.ctx.config.wsMaxSocketsPerUser;
    // Refused before it is counted or registered: it leaves nothing behind.
    if (conns && conns.length >= max) return conn.close(CLOSE.tooManySockets, `at most ${max} sockets per user: close another one`);
    conn.uid = uid;
    conn.expiresAt = expiresAt;
    if (conns) conns.push(conn);
    else this.byUser.set(uid, [conn]);
    // Registered before the backlog is read: a message applied meanwhile is either
    // in what is read below or pushed here (the client drops a duplicate by id).
    if (!conns) await this.registry.add(uid);
    await this.welcome(conn, uid, since);
  }

  /**
   * PMQ's own token first; else, where configured, the main site's. With the uid,
   * until when the socket may live on it: a PMQ token's `exp`; for a main-site
   * token, which tells none, the end of its cached resolution (docs/protocol.md).
   */
  private async verify(token: string): Promise<{ uid: string; expiresAt: number }> {
    try {
      return await this.auth.verifyTokenUntil(token);
    } catch (err) {
      if (err instanceof TokenExpiredError || !this.resolver) throw err;
      const { uid, ttlMs } = await this.resolver.resolveFor(token);
      return { uid, expiresAt: this.ctx.clock.now() + ttlMs };
    }
  }

  /** hello, then the fast tier at once; the rest by jobs (ops/welcome.ts). */
  private welcome(conn: Connection, uid: string, since: number | undefined): Promise<void> {
    const { config } = this.ctx;
    return welcome(this.ctx, uid, since, ({ recovered, unread, fast }) => {
      const hello = helloFrame({
        uid,
        node: config.nodeId,
        heartbeat_ms: config.heartbeatMs,
        unread: { total: unread.total, counts: unread.counts },
        recovered,
      });
      conn.send([hello, ...fast.map(messageFrameText)]);
    });
  }

  /** Writes each user's frames, as they came, to each of the user's sockets here. */
  private onNodeMessage(m: NodeMessage<Buffer>): void {
    for (const u of m.users) {
      const conns = this.byUser.get(u.uid);
      if (conns) for (const c of conns) c.send(u.frames);
    }
    if (m.type === 'deliver') {
      this.ctx.metrics.pushLatency.observe({ stage: 'publish_to_socket' }, Math.max(0, Date.now() - m.sent_at) / 1000);
    }
  }

  private onClose(conn: Connection): void {
    this.all.delete(conn);
    const uid = conn.uid;
    if (uid === undefined) return;
    const conns = this.byUser.get(uid);
    const i = conns?.indexOf(conn) ?? -1;
    if (!conns || i === -1) return;
    conns.splice(i, 1);
    if (conns.length === 0) {
      this.byUser.delete(uid);
      // A failure is logged by the registry; it must not become an unhandled rejection.
      if (!this.stopping) void this.registry.remove(uid).catch(() => undefined);
    }
  }

  /**
   * Answers as HTTP would (errors.ts maps both): a Redis that is away or full is
   * `unavailable` (retry), a script error or a bug is `internal` (logged once,
   * with its stack; retrying would not help).
   */
  private onFrameError(conn: Connection, err: Error): void {
    const e = toHttpError(err);
    if (isUnexpected(e)) this.ctx.logger.error({ conn: conn.id, uid: conn.uid, err }, 'frame failed');
    else this.ctx.logger.warn({ conn: conn.id, uid: conn.uid, err: err.message }, 'frame failed');
    conn.reject(e.code, e.message, e.field);
  }

  /**
   * One timer for all sockets, and each pinged once per heartbeat interval, but
   * not all at once: a ping is a socket write (some 20 µs here), and 10,000 in one
   * go held the event loop for 200 ms every 25 s, the push latency's worst case.
   * A round walks the sockets (a live iterator: closed ones drop out) in step with
   * the clock, each step taking the share of the round that is due.
   */
  private pingDue(): void {
    const now = Date.now();
    // Tokens expire by the service's clock (a test's may stand still or jump).
    const clockNow = this.ctx.clock.now();
    const heartbeatMs = this.ctx.config.heartbeatMs;
    const round = (this.pingRound ??= { sockets: this.all.values(), startedAt: now, size: this.all.size, done: 0 });
    const elapsed = now - round.startedAt;
    const due = elapsed >= heartbeatMs ? round.size : Math.ceil((round.size * elapsed) / heartbeatMs);
    while (round.done < due) {
      const next = round.sockets.next();
      if (next.done) break;
      round.done++;
      this.ping(next.value, clockNow);
    }
    if (elapsed >= heartbeatMs) this.pingRound = undefined;
  }

  /**
   * Closes a socket that missed two pings in a row, or whose token has expired
   * (4402: the client authenticates again); else pings it. The expiry is checked
   * here, once per heartbeat per socket, rather than by a timer per socket: a
   * close up to one heartbeat late, for no timer and one number per socket.
   */
  private ping(c: Connection, now: number): void {
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
}

function parseSince(raw: string | null): number | undefined | null {
  if (raw === null) return undefined;
  return /^\d{1,15}$/.test(raw) ? Number(raw) : null;
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
