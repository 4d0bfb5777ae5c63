// The peers as targets of the push load (bench/lib/delivery-load.ts): each server a
// child process of the bench (under tsx, with an inspector on loopback for the GC
// before each memory reading), its sockets opened with the peer's own client.
//   ws        ws-server.ts, in memory; clients: `ws`
//   socketio  socketio-server.ts on a private redis-server the bench starts;
//             clients: socket.io-client, websocket transport only
// Neither client acks anything: the peers do not ask for it.
// bench:chat's relays (chat-ws-server.ts, chat-socketio-server.ts) are forked the
// same way (spawnChatPeer); their clients are in bench/lib/chat-load.ts.
import { fork } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { io as ioClient } from 'socket.io-client';
import WebSocket from 'ws';
import { freePort } from '../../test/helpers/redis-server.js';
import type { LoadMessage, LoadSocket, Target } from '../lib/delivery-load.js';
import { ROOT, startRedis, tail, type Child } from '../lib/processes.js';

export type Peer = 'ws' | 'socketio';
export const PEERS: readonly Peer[] = ['ws', 'socketio'];

/** Starts `peer` (and its Redis) in `dir`; what it starts is pushed on `children`, for the caller to stop. */
export async function spawnPeer(peer: Peer, dir: string, children: Child[], log: (line: string) => void): Promise<Target> {
  const redis = peer === 'socketio' ? await startRedis(dir) : undefined;
  if (redis) children.push(redis);
  const server = await forkServer(peer, `${peer === 'ws' ? 'ws' : 'socketio'}-server.ts`, dir, children, log, redis?.url);
  return {
    description: peer === 'ws' ? 'bare ws, in memory' : 'Socket.IO 4 + @socket.io/redis-adapter',
    url: `http://127.0.0.1:${server.port}`,
    apiKey: 'none',
    processes: [{ role: peer, pid: server.pid }],
    socketPid: server.pid,
    socketInspectPort: server.inspectPort,
    redisPids: redis ? [redis.pid] : [],
    connect: peer === 'ws' ? (uid, on) => connectWs(server.port, uid, on) : (uid, on) => connectSocketIo(server.port, uid, on),
  };
}

/** The chat peers of bench:chat: chat-ws-server.ts (in memory) or chat-socketio-server.ts (on its own redis-server). */
export async function spawnChatPeer(
  peer: Peer,
  dir: string,
  children: Child[],
  log: (line: string) => void,
): Promise<{ port: number; pid: number; redisPids: number[]; description: string }> {
  const redis = peer === 'socketio' ? await startRedis(dir) : undefined;
  if (redis) children.push(redis);
  const server = await forkServer(`chat-${peer}`, `chat-${peer}-server.ts`, dir, children, log, redis?.url);
  return {
    port: server.port,
    pid: server.pid,
    redisPids: redis ? [redis.pid] : [],
    description:
      peer === 'ws'
        ? 'bare ws relay, in memory (no storage, seq, acks, receipts or routing)'
        : 'Socket.IO 4 + @socket.io/redis-adapter, a room per conversation (no storage, seq, acks, receipts or routing)',
  };
}

/** Forks bench/peers/`script` (under tsx, an inspector on loopback) and waits for the port it reports. */
async function forkServer(
  name: string,
  script: string,
  dir: string,
  children: Child[],
  log: (line: string) => void,
  redisUrl: string | undefined,
): Promise<{ pid: number; port: number; inspectPort: number }> {
  const inspectPort = await freePort();
  const logFile = join(dir, `${name}.log`);
  const out = openSync(logFile, 'a');
  const child = fork(join(ROOT, 'bench', 'peers', script), [], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx', `--inspect=127.0.0.1:${inspectPort}`],
    env: { PATH: process.env.PATH, ...(redisUrl ? { REDIS_URL: redisUrl } : {}) },
    stdio: ['ignore', out, out, 'ipc'],
  });
  closeSync(out);
  children.push({
    pid: child.pid!,
    process: child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        log(`${name} server exited with ${child.exitCode ?? child.signalCode}:\n${tail(logFile, 20)}`);
        return;
      }
      const gone = new Promise((done) => child.once('exit', done));
      child.kill('SIGKILL');
      await gone;
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ${name} server did not listen within 60 s:\n${tail(logFile)}`)), 60_000);
    child.once('message', (m: { port: number }) => {
      clearTimeout(timer);
      resolve(m.port);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the ${name} server exited (${code ?? signal}) while starting:\n${tail(logFile)}`));
    });
  });
  log(`${name} server pid ${child.pid} on port ${port}${redisUrl ? `, redis ${redisUrl}` : ''}`);
  return { pid: child.pid!, port, inspectPort };
}

async function connectWs(port: number, uid: string, onMessage: (m: LoadMessage) => void): Promise<LoadSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/?uid=${encodeURIComponent(uid)}`, { perMessageDeflate: false });
  ws.on('message', (data) => onMessage(JSON.parse(data.toString()) as LoadMessage));
  // The server registers the socket before its side of the handshake completes.
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { close: () => ws.terminate() };
}

async function connectSocketIo(port: number, uid: string, onMessage: (m: LoadMessage) => void): Promise<LoadSocket> {
  const socket = ioClient(`http://127.0.0.1:${port}`, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    auth: { uid },
  });
  // Compression is off: the server declines it (perMessageDeflate: false).
  socket.on('message', onMessage);
  // The server joins the room in the same tick as it sends CONNECT: before any POST.
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return { close: () => socket.disconnect() };
}
