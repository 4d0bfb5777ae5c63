// The `gateway` role: the parts that make up a node's WebSocket tier, and their
// lifecycle. A frame's way: upgrade.ts (accepted?) -> sign-in.ts (whose?) ->
// connection.ts (valid, within its rate?) -> frame-handlers.ts (-> ops/). A
// push's way: node-channel.ts (this node's Redis channel) -> sessions.ts (the
// user's sockets here). heartbeat.ts pings them all.
import type { Server } from 'node:http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Authenticator } from '../auth/authenticator.js';
import type { Context } from '../context.js';
import { isUnexpected, toHttpError } from '../errors.js';
import type { PullDeps } from '../ops/pull.js';
import type { ReadDeps } from '../ops/read.js';
import type { ClientFrame } from '../protocol/client-frames.js';
import { CLOSE } from '../protocol/close-codes.js';
import type { NodeMessage } from '../protocol/node-message.js';
import type { RedisClient } from '../redis/client.js';
import { createSubscriber } from '../redis/connection.js';
import { Registry } from '../store/registry.js';
import { AckBatcher } from './ack-batcher.js';
import { Connection, type ConnectionLimits } from './connection.js';
import { isAgentId } from '../chat/participants.js';
import { agentMayHaveLeft } from '../ops/chat-presence.js';
import { ackChatMessages } from '../ops/chat-receipts.js';
import { read } from '../ops/read.js';
import { chatHandlers } from './chat-handlers.js';
import { notificationHandlers, type FrameHandler, type FrameHandlers } from './frame-handlers.js';
import { Heartbeat } from './heartbeat.js';
import { listenOnNodeChannel } from './node-channel.js';
import { Sessions } from './sessions.js';
import { SignIn, type SignInDeps } from './sign-in.js';
import { WS_PATH, acceptedUpgrade } from './upgrade.js';

/** What the gateway's parts use, and where Redis is for the node channel's own connection. */
export type GatewayDeps = SignInDeps & ReadDeps & PullDeps & Pick<Context, 'redisTarget' | 'metrics' | 'chat' | 'publisher'>;

export class Gateway {
  private readonly wss: WebSocketServer;
  private readonly registry: Registry;
  private readonly sessions: Sessions;
  private readonly signIn: SignIn;
  private readonly heartbeat: Heartbeat;
  private readonly acks: AckBatcher;
  private readonly handlers: FrameHandlers;
  /** One object for every socket's limits, not one each. */
  private readonly limits: ConnectionLimits;
  private subscriber: RedisClient | undefined;
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
      gateway.sessions.closed(Connection.of(this));
    },
    // 'close' follows; 1009 and the like are ws' own
    error() {},
  }))(this);

  constructor(
    private readonly ctx: GatewayDeps,
    auth: Authenticator,
  ) {
    const { config } = ctx;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.wsMaxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.limits = {
      framesPerSecond: config.wsFramesPerSecond,
      maxBufferBytes: config.wsMaxBufferBytes,
      slowCloseGraceMs: config.wsSlowCloseGraceMs,
      onClose: (code) => ctx.metrics.serverCloses.inc({ code: String(code) }),
    };
    this.registry = new Registry(ctx.redis, ctx.keys, config.nodeId, ctx.clock, ctx.logger);
    this.sessions = new Sessions(this.registry, config.wsMaxSocketsPerUser, (uid) => this.agentLeft(uid));
    this.signIn = new SignIn(ctx, auth, this.sessions);
    this.heartbeat = new Heartbeat(this.sessions.all, config.heartbeatMs, ctx.clock);
    this.acks = new AckBatcher(ctx);
    const chatDeps = {
      stores: ctx.chat,
      publisher: ctx.publisher,
      clock: ctx.clock,
      readNotices: (uid: string, ids: string[]) => read(ctx, uid, { ids }),
    };
    const chatAcks = (uid: string, ids: string[]) =>
      void ackChatMessages(chatDeps, uid, ids).catch((err: Error) => ctx.logger.warn({ uid, err: err.message }, 'chat acks failed'));
    this.handlers = {
      ...notificationHandlers(ctx, this.acks, chatAcks),
      ...chatHandlers({ ...chatDeps, refuse: (conn, err, ref) => this.onFrameError(conn, err, ref) }),
    };
  }

  get connections(): number {
    return this.sessions.all.size;
  }

  /** Listens on the node channel, starts the heartbeats, takes upgrades on `server`. */
  async start(server: Server): Promise<void> {
    const { config, keys, logger } = this.ctx;
    this.subscriber = createSubscriber(this.ctx.redisTarget, `${config.nodeId}:sub`, logger);
    let first = true;
    this.subscriber.on('ready', () => {
      // After a reconnect the registry may have lost this node's users (a Redis
      // restart, a sweep while we were cut off): write them again.
      if (!first) this.sessions.registerAgain();
      first = false;
    });
    await listenOnNodeChannel(this.subscriber, keys.nodeChannel(config.nodeId), logger, (m) => this.onNodeMessage(m));
    await this.registry.startHeartbeat(Math.max(1000, Math.floor(config.nodeTtlMs / 3)), () => this.sessions.registerAgain());
    this.heartbeat.start();
    server.on('upgrade', (req, socket, head) => {
      const url = acceptedUpgrade(req, socket, { origins: config.wsOrigins, stopping: this.stopping });
      if (url) this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, url));
    });
    logger.info({ path: WS_PATH }, 'gateway listening');
  }

  /**
   * Takes this node out of the registry first (pushes stop coming here), then
   * closes every socket with 1012 so that clients reconnect to another node.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.heartbeat.stop();
    this.registry.stopHeartbeat();
    await this.sessions.closeAll(CLOSE.restart, 'server restart: reconnect').catch((err: Error) =>
      this.ctx.logger.warn({ err: err.message }, 'could not remove this node from the registry'),
    );
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await this.acks.flush();
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  private onConnection(ws: WebSocket, url: URL): void {
    const conn = new Connection(ws, this.limits);
    this.sessions.opened(conn);
    const { listeners } = this;
    ws.on('pong', listeners.pong);
    ws.on('error', listeners.error);
    ws.on('close', listeners.close);
    ws.on('message', listeners.message);
    this.signIn.opened(conn, url);
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
    if (frame.type === 'auth') return this.signIn.frame(conn, frame.token, frame.since);
    const uid = conn.uid;
    if (uid === undefined) return void conn.reject('unauthenticated', 'send an auth frame first');
    const handler = this.handlers[frame.type] as FrameHandler<typeof frame>;
    await handler(conn, uid, frame);
  }

  /**
   * An agent's last socket on this node is gone: when they have none on any node
   * either, they keep their conversations for PMQ_CHAT_AGENT_GRACE_SECONDS (a
   * reload, a network change), then the chat sweep takes them offline.
   */
  private async agentLeft(uid: string): Promise<void> {
    if (!isAgentId(uid)) return;
    const { ctx } = this;
    await agentMayHaveLeft({ stores: ctx.chat, redis: ctx.redis, keys: ctx.keys }, uid, new Date(ctx.clock.now()), ctx.config.chat.agentGraceMs).catch(
      (err: Error) => ctx.logger.warn({ uid, err: err.message }, 'could not start the grace period of an agent who left'),
    );
  }

  private onNodeMessage(m: NodeMessage<Buffer>): void {
    this.sessions.deliver(m);
    if (m.type === 'deliver') {
      this.ctx.metrics.pushLatency.observe({ stage: 'publish_to_socket' }, Math.max(0, Date.now() - m.sent_at) / 1000);
    }
  }

  /**
   * Answers as HTTP would (errors.ts maps both): a Redis that is away or full is
   * `unavailable` (retry), a script error or a bug is `internal` (logged once,
   * with its stack; retrying would not help).
   */
  private onFrameError(conn: Connection, err: Error, ref?: string): void {
    const e = toHttpError(err);
    if (isUnexpected(e)) this.ctx.logger.error({ conn: conn.id, uid: conn.uid, err }, 'frame failed');
    else this.ctx.logger.warn({ conn: conn.id, uid: conn.uid, err: err.message }, 'frame failed');
    conn.reject(e.code, e.message, e.field, ref);
  }
}
