// Chat peer of bench:chat: a bare `ws` relay, in memory. A user's sockets in a Map
// (the user from ?uid=); each frame {"type":"chat.send","to":uid,"client_id","text"}
// is written to `to`'s sockets as {"type":"chat.message","from","client_id","text"}.
// The load decides who talks to whom and names the other side in each frame: no
// conversations, no routing, no storage, no seq, no echo to the sender, no acks or
// receipts, no notifications. The least a chat relay can do per message.
// Started by bench:chat as a child process (bench/peers/spawn.ts).
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { listenAndReport } from './events-endpoint.js';

const users = new Map<string, Set<WebSocket>>();

const server = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws, req) => {
  const uid = new URL(req.url ?? '/', 'http://peer').searchParams.get('uid') ?? '';
  let sockets = users.get(uid);
  if (!sockets) users.set(uid, (sockets = new Set()));
  sockets.add(ws);
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString()) as { type?: string; to?: string; client_id?: string; text?: string };
    if (m.type !== 'chat.send' || typeof m.to !== 'string') return;
    const to = users.get(m.to);
    if (!to) return;
    const frame = JSON.stringify({ type: 'chat.message', from: uid, client_id: m.client_id, text: m.text });
    for (const s of to) s.send(frame);
  });
  ws.on('close', () => {
    sockets.delete(ws);
    if (sockets.size === 0) users.delete(uid);
  });
});

listenAndReport(server);
