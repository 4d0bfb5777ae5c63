// The JSON object body of a route. No body at all stands for {} (express.json
// leaves req.body undefined); a body that is JSON but not an object (null, an
// array, a string, a number) is refused, never taken for {}.
import express, { type RequestHandler } from 'express';
import { UnsupportedMediaTypeError, ValidationError } from '../errors.js';

/**
 * Parses a JSON body of at most `limit` bytes. A body that is not JSON is refused,
 * not ignored: express.json leaves it unparsed, and a route would take it for no
 * body at all ({} on POST .../read = read all). An empty body (Content-Length: 0)
 * is no body, whatever its type. A route that takes another type (an upload)
 * uses its own parser instead.
 */
export function jsonBody(limit: number): RequestHandler {
  const parse = express.json({ limit, strict: false });
  return (req, res, next) => {
    parse(req, res, (err?: unknown) => {
      if (err) return next(err);
      if (req.is('application/json') === false && req.headers['content-length'] !== '0') {
        return next(new UnsupportedMediaTypeError());
      }
      next();
    });
  };
}

export function objectBody(body: unknown, expected: string): object {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError(`the body must be a JSON object: ${expected}`);
  }
  return body;
}
