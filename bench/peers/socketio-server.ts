// Peer: Socket.IO 4 with @socket.io/redis-adapter on REDIS_URL, websocket transport
// only. Each socket joins its user's room (the user from the handshake's auth.uid);
// each event is emitted to that room as a 'message' (io.to(uid).emit): the adapter
// publishes it on Redis for the other nodes, as it would in a cluster, and writes it
// to the local sockets. Fire and forget: no acks, nothing stored.
// Started by bench:peers as a child process (bench/peers/spawn.ts).
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { eventsServer, listenAndReport } from './events-endpoint.js';

const pub = new Redis(process.env.REDIS_URL!);
const sub = pub.duplicate();

const server = eventsServer((event) => io.to(event.to).emit('message', event));
const io = new Server(server, {
  transports: ['websocket'],
  perMessageDeflate: false,
  serveClient: false,
  adapter: createAdapter(pub, sub),
});
io.on('connection', (socket) => {
  const uid = (socket.handshake.auth as { uid?: unknown }).uid;
  if (typeof uid === 'string') void socket.join(uid);
});

// The adapter's subscription must be in place before the first emit.
await Promise.all([pub, sub].map((r) => (r.status === 'ready' ? undefined : new Promise((ok) => r.once('ready', ok)))));
listenAndReport(server);
