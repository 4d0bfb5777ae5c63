// How a socket becomes a user's: a token on the URL (`?token=&since=`) or in a
// first `auth` frame within PMQ_WS_AUTH_TIMEOUT_MS; PMQ's own token, else the
// main site's (PMQ_AUTH_URL). Then the socket joins the user's sessions and gets
// its welcome: `hello`, then the fast tier (ops/welcome.ts). Whatever fails
// closes the socket with a code that says what the client should do.
import type { Authenticator } from '../auth/authenticator.js';
import { AuthUnavailableError, InvalidTokenError, TokenResolver } from '../auth/token-resolver.js';
import type { Context } from '../context.js';
import { TokenExpiredError, UnauthorizedError, isUnexpected, toHttpError } from '../errors.js';
import { fromZodIssue } from '../events/zod-issue.js';
import { isAgentId } from '../chat/participants.js';
import { chatWelcome } from '../ops/chat-welcome.js';
import { setPresence } from '../ops/chat-presence.js';
import { welcome, type WelcomeDeps } from '../ops/welcome.js';
import { chatMessageFrameText } from '../protocol/chat-frames.js';
import { authFrame } from '../protocol/client-frames.js';
import { CLOSE } from '../protocol/close-codes.js';
import { helloFrame, messageFrameText } from '../protocol/server-frames.js';
import type { Connection } from './connection.js';
import type { Sessions } from './sessions.js';

/** What signing a socket in uses (the welcome's reads included). */
export type SignInDeps = WelcomeDeps & Pick<Context, 'config' | 'redis' | 'keys' | 'clock' | 'logger' | 'chat'>;

export class SignIn {
  private readonly resolver: TokenResolver | undefined;

  constructor(
    private readonly ctx: SignInDeps,
    private readonly auth: Authenticator,
    private readonly sessions: Sessions,
  ) {
    const { config } = ctx;
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

  /** A new socket: signs in with the URL's token, or waits for an `auth` frame in time. */
  opened(conn: Connection, url: URL): void {
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
      void this.signIn(conn, token, since);
      return;
    }
    const timer = setTimeout(() => {
      // An auth frame that came in time is answered, however long its check takes.
      if (!conn.authStarted) conn.close(CLOSE.authTimeout, 'no auth frame in time');
    }, this.ctx.config.wsAuthTimeoutMs);
    conn.ws.once('close', () => clearTimeout(timer));
  }

  /** An `auth` frame. */
  async frame(conn: Connection, token: string, since: number | undefined): Promise<void> {
    if (conn.authStarted) return void conn.reject('already_authenticated', 'this socket is already authenticated');
    return this.signIn(conn, token, since);
  }

  /** Never rejects: whatever fails closes the socket with a code that says why. */
  private async signIn(conn: Connection, token: string, since: number | undefined): Promise<void> {
    conn.authStarted = true;
    try {
      const { uid, expiresAt } = await this.verify(token);
      if (conn.ws.readyState !== conn.ws.OPEN) return;
      conn.expiresAt = expiresAt;
      // Registered before the backlog is read: a message applied meanwhile is either
      // in what is read below or pushed here (the client drops a duplicate by id).
      if (!(await this.sessions.signedIn(conn, uid))) return;
      await this.welcome(conn, uid, since);
    } catch (err) {
      this.failed(conn, err);
    }
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

  /**
   * hello, then the fast tier and the chat messages missed, at once; the rest by
   * jobs (ops/welcome.ts). An agent's socket first makes them connected (back
   * from a grace period, or online), so that the hello says where they stand.
   */
  private async welcome(conn: Connection, uid: string, since: number | undefined): Promise<void> {
    const { config, chat } = this.ctx;
    if (isAgentId(uid)) await setPresence(chat, uid, 'connected', new Date(this.ctx.clock.now()));
    const chatHello = await chatWelcome(chat, uid);
    return welcome(this.ctx, uid, since, ({ recovered, unread, fast }) => {
      const hello = helloFrame({
        uid,
        node: config.nodeId,
        heartbeat_ms: config.heartbeatMs,
        unread: { total: unread.total, counts: unread.counts },
        recovered,
        ...(chatHello.agent !== undefined && { agent: chatHello.agent }),
        ...(chatHello.conversation !== undefined && { conversation: chatHello.conversation }),
      });
      conn.send([hello, ...fast.map((m) => messageFrameText(m)), ...chatHello.missed.map(chatMessageFrameText)]);
    });
  }

  private failed(conn: Connection, err: unknown): void {
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

function parseSince(raw: string | null): number | undefined | null {
  if (raw === null) return undefined;
  return /^\d{1,15}$/.test(raw) ? Number(raw) : null;
}
