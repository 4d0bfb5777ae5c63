// Which HTTP upgrades become sockets: on /ws only, not while the node stops, and
// from a page of an allowed origin. What is refused gets a plain HTTP answer.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

export const WS_PATH = '/ws';

/** The URL of an upgrade to accept, or undefined once it was refused on `socket`. */
export function acceptedUpgrade(req: IncomingMessage, socket: Duplex, opts: { origins: string[]; stopping: boolean }): URL | undefined {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== WS_PATH) return refuse(socket, 404, 'Not Found');
  if (opts.stopping) return refuse(socket, 503, 'Service Unavailable');
  // The allow-list keeps other sites' pages out (browsers always send Origin);
  // a client without one (a mobile app, a server) is no such page, and PMQ's own
  // pages (the console, the widget's frame) are served from the host they call.
  const origin = req.headers.origin;
  if (opts.origins.length > 0 && origin !== undefined && !opts.origins.includes(origin) && !sameHost(origin, req.headers.host)) {
    return refuse(socket, 403, 'Forbidden');
  }
  return url;
}

function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

function refuse(socket: Duplex, status: number, text: string): undefined {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  return undefined;
}
