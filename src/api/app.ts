// The express app: middleware order, routes, error mapping. Every process serves
// /healthz, /readyz and /metrics; the `api` role adds the public routes.
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import { randomUUID } from 'node:crypto';
import type { Context } from '../context.js';
import type { AckDeps } from '../ops/ack.js';
import type { ReadDeps } from '../ops/read.js';
import type { Authenticator } from '../auth/authenticator.js';
import { jsonBody } from './body.js';
import { NotFoundError } from '../errors.js';
import { errorHandler } from './error-handler.js';
import { RateLimiter } from './rate-limiter.js';
import { KeySet } from '../auth/key-set.js';
import { chatAdminRouter } from './routes/chat-admin.js';
import { chatAgentsRouter } from './routes/chat-agents.js';
import { chatConversationsRouter } from './routes/chat-conversations.js';
import { chatUploadsRouter } from './routes/chat-uploads.js';
import { chatVisitorsRouter } from './routes/chat-visitors.js';
import { eventsRouter, type EventsRouteDeps } from './routes/events.js';
import { healthRouter, type HealthDeps } from './routes/health.js';
import { pagesRouter } from './routes/pages.js';
import { devTokensRouter, tokensRouter } from './routes/tokens.js';
import { usersRouter } from './routes/users.js';

/** What the app and its routes use: the union of the routes' own. */
export type AppDeps = HealthDeps & EventsRouteDeps & ReadDeps & AckDeps & Pick<Context, 'config' | 'clock' | 'logger' | 'metrics' | 'chat'>;

export function createApp(ctx: AppDeps, auth: Authenticator, opts: { api: boolean }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');

  const limiter = new RateLimiter({ perKey: ctx.config.rateLimitPerKey, perUser: ctx.config.rateLimitPerUser }, ctx.clock);

  app.use(
    pinoHttp({
      logger: ctx.logger,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // Probes and scrapes every few seconds would drown the log.
      autoLogging: { ignore: (req) => ['/healthz', '/readyz', '/metrics'].includes(req.url ?? '') },
      // A 503 is Redis away or full for now, not a bug: a warning.
      customLogLevel: (_req, res, err) =>
        res.statusCode === 503 ? 'warn' : err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug',
      // An unexpected error was logged with its own stack by the error handler;
      // pino-http's stand-in ("failed with status code 500") would add a second, empty one.
      customErrorObject: (_req, res, _err, val: object) => (res.statusCode >= 500 ? { ...val, err: undefined } : val),
    }),
  );
  app.use((req, res, next) => {
    const end = ctx.metrics.httpDuration.startTimer({ method: req.method });
    res.on('finish', () => {
      end({ route: req.route?.path ?? 'unmatched', status: String(res.statusCode) });
    });
    next();
  });
  app.use(healthRouter(ctx));
  if (opts.api) {
    // Each router parses its body after authentication: a caller without
    // credentials gets 401 and no parsing of up to PMQ_MAX_BODY_BYTES.
    const body = jsonBody(ctx.config.maxBodyBytes);
    app.use(eventsRouter(ctx, auth, limiter, body));
    app.use(tokensRouter(ctx, auth, limiter, body));
    app.use(usersRouter(ctx, auth, limiter, body));
    app.use(chatVisitorsRouter(ctx, auth, body));
    const adminKeys = new KeySet(ctx.config.adminKey === undefined ? [] : [ctx.config.adminKey]);
    app.use(chatConversationsRouter(ctx, auth, adminKeys, limiter, body));
    app.use(chatAgentsRouter(ctx, auth, adminKeys, limiter));
    // Its body is an image, streamed to disk: not JSON, and over PMQ_MAX_BODY_BYTES.
    app.use(chatUploadsRouter(ctx, auth, adminKeys, limiter));
    app.use(chatAdminRouter(ctx, adminKeys, body));
    app.use(devTokensRouter(ctx, auth, body));
    app.use(pagesRouter(ctx.config));
  }

  app.use(() => {
    throw new NotFoundError();
  });
  app.use(errorHandler((err) => ctx.logger.error({ err }, 'unexpected error')));
  return app;
}
