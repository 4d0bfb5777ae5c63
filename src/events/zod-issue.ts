// A zod failure as one message and the field it names (`events[3].to`), for the
// HTTP errors and the socket's error frames alike.
import type { ZodError } from 'zod';

export function fromZodIssue(err: ZodError, root = ''): { message: string; field?: string } {
  const issue = err.issues[0]!;
  let path = root;
  for (const part of issue.path) {
    path += typeof part === 'number' ? `[${part}]` : path === '' ? String(part) : `.${String(part)}`;
  }
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const field = path === '' ? key : `${path}.${key}`;
    return { message: `${field}: unknown field`, field };
  }
  return path === '' ? { message: issue.message } : { message: `${path}: ${issue.message}`, field: path };
}
