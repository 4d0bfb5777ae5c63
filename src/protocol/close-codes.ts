// The close codes of /ws, besides the standard ones (1009 too big, 1012 restart,
// 1013 try later): docs/protocol.md says what a client does after each.

export const CLOSE = {
  /** bad or missing token */
  unauthorized: 4401,
  /** the token has expired: get a new one */
  tokenExpired: 4402,
  /** no auth frame within PMQ_WS_AUTH_TIMEOUT_MS */
  authTimeout: 4408,
  /** the main site that resolves tokens is down: retry later */
  authUnavailable: 4503,
  /** the user already holds PMQ_WS_MAX_SOCKETS_PER_USER sockets on this node */
  tooManySockets: 4429,
  /** frames sent faster than the limit, well past it */
  policy: 1008,
  /** the send buffer passed its bound: reconnect and resume by seq */
  slowConsumer: 1013,
  /** this node is going down: reconnect (elsewhere) */
  restart: 1012,
  /** the store is unreachable while authenticating (or an internal error): reconnect later */
  internal: 1011,
  tooBig: 1009,
} as const;

/** Closes after which reconnecting with the same token cannot help: get a new one first. */
export const AUTH_FAILURES: ReadonlySet<number> = new Set([CLOSE.unauthorized, CLOSE.tokenExpired]);
