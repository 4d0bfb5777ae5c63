// Limits of the wire protocol that do not depend on configuration: the client
// and the server hold to the same numbers. Configurable ones (frame size, rates,
// sockets per user) are settings: see src/config.ts and docs/protocol.md.

/** The most message ids one `ack` or `read` frame (or HTTP request) may name. */
export const MAX_IDS = 1000;

/** The longest token accepted, in the auth frame or on the URL (`?token=`). */
export const MAX_TOKEN_CHARS = 4096;
