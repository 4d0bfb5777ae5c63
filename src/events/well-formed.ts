/// <reference lib="es2024.string" />
// What an event may carry, made safe for every later step. No I/O.
//
// Why: the message is stored as JSON and read back by Redis' Lua (cjson) and by
// every client. A lone UTF-16 surrogate (an emoji cut in half by the main site)
// is legal in a JS string and in JSON.stringify's output (as `\ud83d`), but not
// text: cjson refuses to decode it, browsers render it as garbage. Data nested
// past cjson's limit (1000), or past the stack of a recursive walk, breaks the
// same way. So text becomes well-formed here (a lone surrogate turns into U+FFFD,
// as `String.prototype.toWellFormed` does) and data deeper than MAX_DATA_DEPTH is
// refused before anything recursive looks at it.

/** How deep an event's `data` may nest: `{}` is 1, `{"a": []}` is 2. */
export const MAX_DATA_DEPTH = 32;

/**
 * How deep `value` nests, counted without recursion, and only as far as
 * `limit + 1`: a 10,000-deep object costs no more than a 33-deep one.
 */
export function nestingDepth(value: unknown, limit = MAX_DATA_DEPTH): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return deepest;
}

/**
 * A copy of a JSON value with every string, object keys included, well-formed.
 * Recursive: call it only on values whose depth was checked. Two keys that
 * differ only in their lone surrogates become one (the last wins).
 */
export function wellFormedJson(value: unknown): unknown {
  if (typeof value === 'string') return value.toWellFormed();
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(wellFormedJson);
  // fromEntries defines own properties: a "__proto__" key stays a key.
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toWellFormed(), wellFormedJson(v)]));
}
