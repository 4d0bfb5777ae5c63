// The API's guards: which routes take the main site's API key, which a user's
// own token (src/auth/authenticator.ts says who is calling), which a chat
// widget's key.
import type { RequestHandler } from 'express';
import { bearerOf, type Authenticator, type Principal } from '../auth/authenticator.js';
import type { KeySet } from '../auth/key-set.js';
import { ForbiddenError, NotFoundError, UnauthorizedError } from '../errors.js';
import { chatCallerOf, type ChatCaller } from '../ops/chat-caller.js';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
    /** On the chat's routes: who calls (see requireChatCaller). */
    chatCaller?: ChatCaller;
  }
}

/** Routes for the main site only. */
export function requireApiKey(auth: Authenticator): RequestHandler {
  return async (req, _res, next) => {
    const principal = await auth.authenticate(req.headers.authorization);
    if (principal.kind !== 'api') throw new ForbiddenError('this route takes an API key, not a user token');
    req.principal = principal;
    next();
  };
}

/** Routes under /v1/users/:uid: the API key, or that user's own token. */
export function requireUserOrApiKey(auth: Authenticator): RequestHandler {
  return async (req, _res, next) => {
    const principal = await auth.authenticate(req.headers.authorization);
    if (principal.kind === 'user' && principal.uid !== req.params.uid) {
      throw new ForbiddenError("a user token may only act on its own user's data");
    }
    req.principal = principal;
    next();
  };
}

/**
 * Routes a site's pages call with a widget key (PMQ_WIDGET_KEYS). The keys are
 * public, embedded in pages: they say which site's widget asks, not who the
 * visitor is, and open nothing else (an API key or a user token is refused here).
 */
export function requireWidgetKey(keys: KeySet): RequestHandler {
  return (req, _res, next) => {
    const secret = bearerOf(req.headers.authorization);
    if (secret === undefined || !keys.has(secret)) {
      throw new UnauthorizedError('missing or invalid widget key: send Authorization: Bearer <widget key>');
    }
    next();
  };
}

/** /v1/admin/*: the admin key (PMQ_ADMIN_KEY); without one set, the admin API is off (404). */
export function requireAdminKey(adminKeys: KeySet): RequestHandler {
  return (req, _res, next) => {
    if (adminKeys.size === 0) throw new NotFoundError('no such route: the admin API is off (PMQ_ADMIN_KEY is not set)');
    const secret = bearerOf(req.headers.authorization);
    if (secret === undefined || !adminKeys.has(secret)) throw new UnauthorizedError('missing or invalid admin key');
    req.chatCaller = { kind: 'admin' };
    next();
  };
}

/**
 * The chat's routes: the admin key, or a user token (an agent's, or a
 * visitor's). The main site's API key takes no part in conversations.
 */
export function requireChatCaller(auth: Authenticator, adminKeys: KeySet): RequestHandler {
  return async (req, _res, next) => {
    const secret = bearerOf(req.headers.authorization);
    if (secret !== undefined && adminKeys.has(secret)) {
      req.chatCaller = { kind: 'admin' };
      return next();
    }
    const principal = await auth.authenticate(req.headers.authorization);
    if (principal.kind !== 'user') throw new ForbiddenError("the chat takes a visitor's or an agent's token, or the admin key; not an API key");
    req.principal = principal;
    req.chatCaller = chatCallerOf(principal.uid);
    next();
  };
}
