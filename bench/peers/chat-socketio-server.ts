// Chat peer of bench:chat: Socket.IO 4 with @socket.io/redis-adapter on REDIS_URL,
// websocket transport only, a room per conversation. The load decides the pairs: each
// socket emits 'join' with the conversations it is in (acked once joined); each
// 'chat.send' {conversation, client_id, text} goes to the conversation's room but the
// sender (socket.to(room).emit('chat.message', {from, client_id, text})): the adapter
// publishes it on Redis for the other nodes, as it would in a cluster. No routing, no
// storage, no seq, no acks or receipts, no notifications.
// Started by bench:chat as a child process (bench/peers/spawn.ts).
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { listenAndReport } from './events-endpoint.js';

const pub = new Redis(process.env.REDIS_URL!);
const sub = pub.duplicate();

const server = createServer((_req, res) => res.writeHead(404).end());
const io = new Server(server, {
  transports: ['websocket'],
  perMessageDeflate: false,
  serveClient: false,
  adapter: createAdapter(pub, sub),
});
io.on('connection', (socket) => {
  const uid = String((socket.handshake.auth as { uid?: unknown }).uid ?? '');
  socket.on('join', (rooms: string[], done: () => void) => {
    void Promise.resolve(socket.join(rooms)).then(() => done());
  });
  socket.on('chat.send', (m: { conversation: string; client_id: string; text: string }) => {
    socket.to(m.conversation).emit('chat.message', { from: uid, client_id: m.client_id, text: m.text });
  });
});

// The adapter's subscription must be in place before the first emit.
await Promise.all([pub, sub].map((r) => (r.status === 'ready' ? undefined : new Promise((ok) => r.once('ready', ok)))));
listenAndReport(server);
