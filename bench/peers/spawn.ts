// The peers as targets of the push load (bench/lib/delivery-load.ts): each server a
// child process of the bench (under tsx, with an inspector on loopback for the GC
// before each memory reading), its sockets opened with the peer's own client.
//   ws        ws-server.ts, in memory; clients: `ws`
//   socketio  socketio-server.ts on a private redis-server the bench starts;
//             clients: socket.io-client, websocket transport only
// Neither client acks anything: the peers do not ask for it.
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
  let redis: (Child & { url: string }) | undefined;
  if (peer === 'socketio') {
    redis = await startRedis(dir);
    children.push(redis);
  }
  const inspectPort = await freePort();
  const logFile = join(dir, `${peer}.log`);
  const out = openSync(logFile, 'a');
  const child = fork(join(ROOT, 'bench', 'peers', `${peer === 'ws' ? 'ws' : 'socketio'}-server.ts`), [], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx', `--inspect=127.0.0.1:${inspectPort}`],
    env: { PATH: process.env.PATH, ...(redis ? { REDIS_URL: redis.url } : {}) },
    stdio: ['ignore', out, out, 'ipc'],
  });
  closeSync(out);
  children.push({
    pid: child.pid!,
    process: child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        log(`${peer} server exited with ${child.exitCode ?? child.signalCode}:\n${tail(logFile, 20)}`);
        return;
      }
      const gone = new Promise((done) => child.once('exit', done));
      child.kill('SIGKILL');
      await gone;
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ${peer} server did not listen within 60 s:\n${tail(logFile)}`)), 60_000);
    child.once('message', (m: { port: number }) => {
      clearTimeout(timer);
      resolve(m.port);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the ${peer} server exited (${code ?? signal}) while starting:\n${tail(logFile)}`));
    });
  });
  log(`${peer} server pid ${child.pid} on port ${port}${redis ? `, redis ${redis.url}` : ''}`);
  return {
    description: peer === 'ws' ? 'bare ws, in memory' : 'Socket.IO 4 + @socket.io/redis-adapter',
    url: `http://127.0.0.1:${port}`,
    apiKey: 'none',
    processes: [{ role: peer, pid: child.pid! }],
    socketPid: child.pid!,
    socketInspectPort: inspectPort,
    redisPids: redis ? [redis.pid] : [],
    connect: peer === 'ws' ? (uid, on) => connectWs(port, uid, on) : (uid, on) => connectSocketIo(port, uid, on),
  };
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
