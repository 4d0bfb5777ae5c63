// Express' error middleware: every error leaves the API here, in one JSON shape,
// {"error": {"code", "message", "field"?}}, as src/errors.ts maps it.
import type { ErrorRequestHandler } from 'express';
import { isUnexpected, toHttpError } from '../errors.js';

/** Express' last middleware: every error leaves here in the one JSON shape. */
export function errorHandler(onUnexpected: (err: unknown) => void): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    const e = toHttpError(err);
    if (isUnexpected(e)) onUnexpected(err);
    if (e.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(e.retryAfterSeconds));
    // HTTP requires a 401 to say which scheme it takes.
    if (e.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="pmq"');
    res.status(e.status).json({ error: { code: e.code, message: e.message, ...(e.field && { field: e.field }) } });
  };
}
