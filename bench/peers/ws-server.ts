// Peer: a bare `ws` server, in memory. A user's sockets in a Map (the user from
// ?uid=), each event written to them as one text frame {"type":"message",...event}.
// Nothing stored, nothing acked: the least a push server can do per delivery.
// Started by bench:peers as a child process (bench/peers/spawn.ts).
import { WebSocketServer, type WebSocket } from 'ws';
import { eventsServer, listenAndReport } from './events-endpoint.js';

const users = new Map<string, Set<WebSocket>>();

const server = eventsServer((event) => {
  const sockets = users.get(event.to);
  if (!sockets) return;
  const frame = JSON.stringify({ type: 'message', ...event });
  for (const ws of sockets) ws.send(frame);
});

const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws, req) => {
  const uid = new URL(req.url ?? '/', 'http://peer').searchParams.get('uid') ?? '';
  let sockets = users.get(uid);
  if (!sockets) users.set(uid, (sockets = new Set()));
  sockets.add(ws);
  ws.on('close', () => {
    sockets.delete(ws);
    if (sockets.size === 0) users.delete(uid);
  });
});

listenAndReport(server);
