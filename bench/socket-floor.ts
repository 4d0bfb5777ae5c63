// npm run bench:floor -- [--connections 10000] [--rate 15000] [--seconds 10]
//
// What the sockets alone cost on this machine, with no PMQ in the way: a bare
// `ws` server (a child process) writes a message frame and an unread frame to
// random sockets of C at a fixed rate, and this process reads them and acks each
// message with a frame, as the push bench's load does. Nothing else: no HTTP, no
// Redis, no validation on the server beyond the JSON parse of the acks. The CPU each side spends per delivery is the
// floor under bench:push, whose deliveries cost the same frames and syscalls plus
// the durable path.
//
// JSON on stdout (the last line), a line for a person on stderr.
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import WebSocket, { WebSocketServer } from 'ws';
import { ackMessages } from './lib/acking-load.js';
import { processCpuSeconds } from './lib/processes.js';
import { round } from './lib/report.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The server side, in its own process (forked with --server): writes what the
// parent asks for, drops what it receives.
if (process.argv.includes('--server')) {
  const server = createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false });
  const sockets: WebSocket[] = [];
  let acks = 0;
  wss.on('connection', (ws) => {
    sockets.push(ws);
    // Parsed, as any server must to apply an ack; counted by id.
    ws.on('message', (data) => {
      acks += (JSON.parse(String(data)) as { ids: string[] }).ids.length;
    });
  });
  const unread = Buffer.from('{"type":"unread","total":1,"counts":{"notice":1}}');
  let seq = 0;
  process.on('message', (m: { send: number }) => {
    // One tick's deliveries: a message frame and an unread frame to a random socket, one write.
    for (let i = 0; i < m.send; i++) {
      const ws = sockets[Math.floor(Math.random() * sockets.length)]!;
      const id = `m${++seq}`;
      const frame = Buffer.from(`{"type":"message","id":"${id}","seq":${seq},"category":"notice","from":null,"title":"bench","body":null,"data":{"t":${Date.now()}},"created_at":"2026-01-01T00:00:00.000Z"}`);
      const socket = (ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
      socket.cork();
      ws.send(frame, { binary: false });
      ws.send(unread, { binary: false });
      socket.uncork();
    }
    process.send!({ acks });
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
} else {
  await main();
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      connections: { type: 'string', default: '10000' },
      rate: { type: 'string', default: '15000' },
      seconds: { type: 'string', default: '10' },
      server: { type: 'boolean', default: false },
    },
  });
  const C = Number(args.connections);
  const RATE = Number(args.rate);
  const SECONDS = Number(args.seconds);
  const child = fork(new URL(import.meta.url).pathname, ['--server'], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    let serverAcks = 0;
    const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
    child.on('message', (m: { acks?: number }) => {
      if (m.acks !== undefined) serverAcks = m.acks;
    });

    let received = 0;
    const socks: WebSocket[] = [];
    for (let i = 0; i < C; i += 200) {
      const part = Array.from({ length: Math.min(200, C - i) }, () => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
        // The same load as bench:push's: parse each message, ack each moment's in one frame.
        ackMessages(ws, () => received++);
        socks.push(ws);
        return new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('error', reject);
        });
      });
      await Promise.all(part);
    }
    await sleep(1000);

    const tickMs = 10;
    const perTick = RATE / (1000 / tickMs);
    const cpu = () => ({ load: process.cpuUsage(), server: processCpuSeconds(child.pid!) ?? 0 });
    const before = cpu();
    const start = performance.now();
    let owed = 0;
    let sent = 0;
    for (let tick = 0; performance.now() - start < SECONDS * 1000; tick++) {
      owed += perTick;
      const n = Math.floor(owed);
      owed -= n;
      sent += n;
      child.send({ send: n });
      await sleep(Math.max(0, start + (tick + 1) * tickMs - performance.now()));
    }
    const deadline = performance.now() + 30_000;
    while ((received < sent || serverAcks < received) && performance.now() < deadline) {
      child.send({ send: 0 });
      await sleep(20);
    }
    const elapsed = (performance.now() - start) / 1000;
    const after = cpu();
    const loadS = (after.load.user + after.load.system - before.load.user - before.load.system) / 1e6;
    const serverS = after.server - before.server;
    const result = {
      bench: 'socket-floor',
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? '?', node: process.version },
      config: { connections: C, rate: RATE, seconds: SECONDS },
      sent,
      delivered: received,
      delivered_per_s: Math.round(received / elapsed),
      cpu_percent_of_one_core: { server: Math.round((100 * serverS) / elapsed), load: Math.round((100 * loadS) / elapsed) },
      cpu_us_per_delivery: { server: round((serverS * 1e6) / received, 1), load: round((loadS * 1e6) / received, 1) },
    };
    process.stderr.write(
      `socket floor: ${C} sockets, ${result.delivered_per_s}/s delivered (target ${RATE}); ` +
        `µs of CPU per delivery: server ${result.cpu_us_per_delivery.server}, load ${result.cpu_us_per_delivery.load} ` +
        `(cpu% server ${result.cpu_percent_of_one_core.server}, load ${result.cpu_percent_of_one_core.load})\n`,
    );
    process.stdout.write(`${JSON.stringify(result)}\n`);
    for (const s of socks) s.terminate();
  } finally {
    child.kill();
  }
}
