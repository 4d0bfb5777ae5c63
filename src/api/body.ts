// The JSON object body of a route. No body at all stands for {} (express.json
// leaves req.body undefined); a body that is JSON but not an object (null, an
// array, a string, a number) is refused, never taken for {}.
import { ValidationError } from './errors.js';

export function objectBody(body: unknown, expected: string): object {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError(`the body must be a JSON object: ${expected}`);
  }
  return body;
}
