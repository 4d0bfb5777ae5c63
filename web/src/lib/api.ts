// The pages' HTTP calls: JSON in and out, the credential as a bearer header
// (never in a URL), and PMQ's error body turned into an ApiError with its code.

export interface ApiErrorBody {
  code: string;
  message: string;
  field?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface ApiOptions {
  method?: string;
  /** A JSON body, or raw bytes (an image) with its content type. */
  body?: unknown;
  contentType?: string;
  /** The bearer: a token, the admin key or a widget key. */
  credential?: string;
  /** Another origin than the page's (the widget's loader calls PMQ from the site's page). */
  base?: string;
}

export async function api<T>(path: string, opts: ApiOptions = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (opts.credential !== undefined) headers.authorization = `Bearer ${opts.credential}`;
  let body: BodyInit | undefined;
  if (opts.body instanceof Blob || opts.body instanceof ArrayBuffer) {
    body = opts.body;
    headers['content-type'] = opts.contentType ?? (opts.body instanceof Blob ? opts.body.type : 'application/octet-stream');
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch((opts.base ?? '') + path, { method: opts.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: the status says enough
  }
  if (!res.ok) {
    const e = (parsed as { error?: ApiErrorBody } | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `${res.status} ${res.statusText}`, e?.field);
  }
  return parsed as T;
}

/**
 * A chat image as a blob: URL for an <img>. The upload route takes the token in
 * the Authorization header, which an <img src> cannot send; the URL lives as
 * long as the page (a chat shows few images).
 */
export async function imageUrl(id: string, credential: string, base = ''): Promise<string> {
  const res = await fetch(`${base}/v1/chat/uploads/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${credential}` } });
  if (!res.ok) throw new ApiError(res.status, `http_${res.status}`, `the image ${id} could not be loaded`);
  return URL.createObjectURL(await res.blob());
}

/** The gateway's URL for a page served by PMQ (same host). */
export function wsUrl(base: string = location.origin): string {
  const u = new URL('/ws', base);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}
