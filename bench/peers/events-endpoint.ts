// What every peer server shares: POST /v1/events with PMQ's body ({"events": [...]},
// each event with a `to`), answered 202 {"accepted": n} once each event was handed to
// `emit`; and, once listening, its port to the bench over the IPC channel of fork().
// No validation, no storage, no auth: the peers are fire and forget by design.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface PeerEvent {
  to: string;
  [field: string]: unknown;
}

export function eventsServer(emit: (event: PeerEvent) => void): Server {
  return createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/v1/events') onEvents(req, res, emit);
    else res.writeHead(404).end();
  });
}

function onEvents(req: IncomingMessage, res: ServerResponse, emit: (event: PeerEvent) => void): void {
  const parts: Buffer[] = [];
  req.on('data', (c: Buffer) => parts.push(c));
  req.on('end', () => {
    const { events } = JSON.parse(Buffer.concat(parts).toString('utf8')) as { events: PeerEvent[] };
    for (const e of events) emit(e);
    res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: events.length }));
  });
}

/** Listens on a free loopback port and tells the bench which. */
export function listenAndReport(server: Server): void {
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
}
