// npm run bench:chat -- [--visitors 2000] [--agents 50] [--capacity 5] [--queue 1000]
//                       [--rates 1000,5000] [--seconds 10] [--assign-timeout 120]
//                       [--peers ws,socketio|none] [--cluster] [--json] [--help]
//
// The customer-service chat through PMQ's real API: a private redis-server (or
// Redis Cluster) and `pmq all` (lib/pmq-target.ts, with PMQ_ADMIN_KEY set), agents
// registered with PUT /v1/admin/agents/:id and their tokens from POST /v1/tokens,
// visitors as site users with tokens signed as the main site's would be. This one
// process holds every socket (raw `ws`, lib/chat-load.ts: each acks its chat
// messages as the client library does). Phases:
//   setup        register the agents, connect them (signing in makes them online)
//                and the visitors, in batches
//   assignments  agents go `away`; `queue` visitors send a first message (each
//                opens a conversation, all queued); then every agent sends
//                `agent.status online` at once: time until agents x capacity
//                conversations are assigned, as the agents' chat.conversation
//                frames show it. Then waves: the agents resolve what they hold,
//                the queue drains into the freed slots, until all were assigned
//                or --assign-timeout; the last wave stays open
//   rate R       R messages/s for --seconds over the open conversations, one
//                direction then the other (visitor -> agent, agent -> visitor):
//                latency from the send to the chat.message frame on the other side
//                (matched by client_id); CPU of the service, Redis and the load
//   peers        then, PMQ stopped, the same rate phases against each --peers
//                server (bench/peers/chat-*-server.ts, forked as bench:push's peers
//                are): the same number of visitor and agent sockets on the peer's
//                own client, paired as PMQ's open conversations were (the load
//                decides the pairs: the peers have no routing, so no assignment
//                phase), no acks, no storage
//
// JSON on stdout (the last line), progress and a table on stderr (--json: the JSON only).
import { cpus } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  connectChat,
  connectRelay,
  frameCounts,
  inBatches,
  type ChatConversation,
  type ChatHandlers,
  type ChatMessage,
  type ChatSocket,
  type RelaySocket,
} from './lib/chat-load.js';
import { cpuNow, cpuSince, cpuText, type Target } from './lib/delivery-load.js';
import { mintToken, spawnPmq } from './lib/pmq-target.js';
import { gitState, makeTempDir, type Child } from './lib/processes.js';
import { PEERS, spawnChatPeer, type Peer } from './peers/spawn.js';
import { percentile, round } from './lib/report.js';

const USAGE = `usage: npm run bench:chat -- [options]

  --visitors N         visitor sockets, one site user each          (2000)
  --agents N           agents, one socket each                      (50)
  --capacity N         conversations an agent holds at once         (5)
  --queue N            visitors who open a conversation while every agent is away
                       (at most --visitors)                         (1000)
  --rates R,R          messages/s of the rate phases, both directions together
                                                                    (1000,5000)
  --seconds S          length of each rate phase                    (10)
  --assign-timeout S   bound of the assignment phase                (120)
  --peers P,P          after PMQ (stopped first), the rate phases against these
                       relays in the same run: ws (bare ws, in memory), socketio
                       (Socket.IO + its Redis adapter, a room per conversation),
                       or none                                      (ws,socketio)
  --cluster            a local Redis Cluster of three masters, not one redis-server
  --json               print the JSON line only (no progress, no table)
  --help               this text

The bench starts its own redis-server and \`pmq all\` (dist/, rebuilt when stale) and
stops them. It sets PMQ_ADMIN_KEY (to register the agents) and, unless set,
PMQ_WS_FRAMES_PER_SECOND=1000: at 5,000 messages/s an agent socket sends 50 messages
and ~100 acks a second, above the default 50 frames/s. Other PMQ_* variables pass
through to the service. Output: one JSON line on stdout (its last line), progress
and a table on stderr.`;

const { values: args } = parseArgs({
  options: {
    visitors: { type: 'string', default: '2000' },
    agents: { type: 'string', default: '50' },
    capacity: { type: 'string', default: '5' },
    queue: { type: 'string', default: '1000' },
    rates: { type: 'string', default: '1000,5000' },
    seconds: { type: 'string', default: '10' },
    'assign-timeout': { type: 'string', default: '120' },
    peers: { type: 'string', default: 'ws,socketio' },
    cluster: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const VISITORS = Number(args.visitors);
const AGENTS = Number(args.agents);
const CAPACITY = Number(args.capacity);
const QUEUE = Math.min(Number(args.queue), VISITORS);
const RATES = args.rates!.split(',').map(Number).filter((n) => n > 0);
const SECONDS = Number(args.seconds);
const ASSIGN_TIMEOUT_MS = Number(args['assign-timeout']) * 1000;
const PEER_LIST: Peer[] =
  args.peers === 'none'
    ? []
    : args.peers!.split(',').map((p) => {
        if (!(PEERS as readonly string[]).includes(p)) usage(`--peers: ${p} is not one of ${PEERS.join(', ')}, none`);
        return p as Peer;
      });
const log = args.json ? () => undefined : (line: string) => process.stderr.write(`${line}\n`);

for (const [name, v] of [
  ['visitors', VISITORS],
  ['agents', AGENTS],
  ['capacity', CAPACITY],
  ['queue', QUEUE],
  ['seconds', SECONDS],
] as const) {
  if (!Number.isInteger(v) || v < 1) usage(`--${name}: must be a whole number from 1`);
}
if (!(ASSIGN_TIMEOUT_MS > 0)) usage('--assign-timeout: must be a number of seconds above 0');
if (process.env.PMQ_URL) usage('bench:chat starts its own service: PMQ_URL is not supported');

function usage(message: string): never {
  process.stderr.write(`bench:chat: ${message}\n${USAGE}\n`);
  process.exit(2);
}

const ADMIN_KEY = (process.env.PMQ_ADMIN_KEY ??= 'bench-admin-key-0123456789abcdef');
process.env.PMQ_WS_FRAMES_PER_SECOND ??= '1000';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean, timeoutMs: number, stepMs = 2): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await sleep(stepMs);
  }
  return true;
}

async function http(target: Target, method: string, path: string, key: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${target.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as unknown) : null;
}

async function main(): Promise<void> {
  const children: Child[] = [];
  const temp = makeTempDir();
  const sockets: ChatSocket[] = [];
  try {
    const target = await spawnPmq('all', temp.dir, children, log, { cluster: args.cluster });
    const pmq = await run(target, sockets);
    // PMQ and its sockets go before the peers run: the machine is theirs alone.
    for (const s of sockets.splice(0)) s.close();
    for (const c of children.splice(0).reverse()) await c.stop();
    const peers = [];
    for (const peer of PEER_LIST) peers.push(await runPeer(peer, pmq.open_conversations, temp.dir, children));
    const result = { ...pmq, peers };
    log(table(result));
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const s of sockets) s.close();
    for (const c of children.reverse()) await c.stop();
    temp.remove();
  }
}

type Direction = 'visitor_to_agent' | 'agent_to_visitor';

async function run(target: Target, sockets: ChatSocket[]) {
  const wsUrl = `${target.url.replace(/^http/, 'ws')}/ws`;
  const prefix = `b${Date.now().toString(36)}`;
  const agentIds = Array.from({ length: AGENTS }, (_, i) => `${prefix}a${i}`);
  const visitorUids = Array.from({ length: VISITORS }, (_, i) => `${prefix}v${i}`);

  // What the frames tell: the conversation each visitor opened (its echo), the
  // agent each conversation is with (the agents' chat.conversation frames), the
  // sends in flight of a rate phase, and the errors.
  const conversationOf = new Map<string, string>(); // visitor uid -> conversation
  const visitorSock = new Map<string, ChatSocket>(); // conversation -> its visitor's socket
  const agentOf = new Map<string, string>(); // conversation -> agent uid, while assigned
  const held = new Map<string, Set<string>>(); // agent uid -> conversations assigned
  const everAssigned = new Set<string>();
  const errors = new Map<string, number>();
  let firstErrors = 0;

  const handlers: ChatHandlers = {
    message: (sock, m: ChatMessage, at) => {
      if (m.client_id === null) return;
      if (m.from === sock.uid) {
        if (m.client_id.startsWith('open-')) {
          conversationOf.set(sock.uid, m.conversation);
          visitorSock.set(m.conversation, sock);
        }
        return;
      }
      received(sock.uid, m.client_id, at);
    },
    conversation: (sock, c: ChatConversation) => {
      // Every signed-in agent hears of a conversation that enters or leaves the
      // queue: only the frame to its own agent counts.
      if (c.agent !== sock.uid) return;
      if (c.status === 'assigned') {
        if (agentOf.get(c.id) === sock.uid) return;
        agentOf.set(c.id, sock.uid);
        held.get(sock.uid)!.add(c.id);
        everAssigned.add(c.id);
      } else if (c.status === 'resolved' || c.status === 'queued') {
        agentOf.delete(c.id);
        held.get(sock.uid)!.delete(c.id);
      }
    },
    error: (sock, e) => {
      errors.set(e.code, (errors.get(e.code) ?? 0) + 1);
      if (firstErrors++ < 5) log(`  error to ${sock.uid}: ${e.code} ${e.message}${e.ref ? ` (ref ${e.ref})` : ''}`);
    },
  };

  // --- setup
  log(`setup: ${AGENTS} agents (capacity ${CAPACITY}), ${VISITORS} visitors ...`);
  const setupStart = performance.now();
  const agentSocks = await inBatches(agentIds, 10, async (id) => {
    await http(target, 'PUT', `/v1/admin/agents/${id}`, ADMIN_KEY, { name: `Agent ${id}`, capacity: CAPACITY });
    const { token } = (await http(target, 'POST', '/v1/tokens', target.apiKey, { uid: `agent:${id}` })) as { token: string };
    const { sock, hello } = await connectChat(wsUrl, `agent:${id}`, token, handlers);
    const status = (hello.agent as { status?: string } | undefined)?.status;
    if (status !== 'online') throw new Error(`agent:${id} signed in ${status ?? 'without agent status'}, not online`);
    held.set(sock.uid, new Set());
    sockets.push(sock);
    return sock;
  });
  const agentsReadyS = (performance.now() - setupStart) / 1000;
  const visitorStart = performance.now();
  const visitorSocks = await inBatches(visitorUids, 50, async (uid) => {
    const { sock } = await connectChat(wsUrl, uid, await mintToken(uid), handlers);
    sockets.push(sock);
    return sock;
  });
  const visitorsConnectS = (performance.now() - visitorStart) / 1000;
  log(`  agents registered and online in ${round(agentsReadyS, 2)} s; ${VISITORS} visitors connected in ${round(visitorsConnectS, 2)} s`);

  const stats = async () =>
    (await http(target, 'GET', '/v1/admin/stats', ADMIN_KEY)) as { queued: number; agents_online: number; agents_away: number };

  // --- assignments
  log(`assignments: agents away, ${QUEUE} visitors open a conversation, then ${AGENTS} agents online at once ...`);
  for (const a of agentSocks) a.send({ type: 'agent.status', status: 'away' });
  if (!(await pollStats(stats, (s) => s.agents_away === AGENTS, 30_000))) {
    throw new Error(`the agents were not all away within 30 s: ${JSON.stringify(await stats())}`);
  }
  const openStart = performance.now();
  const queuers = visitorSocks.slice(0, QUEUE);
  queuers.forEach((v, i) => v.send({ type: 'chat.send', client_id: `open-${i}`, text: `Hello, I am visitor ${i} and I need help` }));
  const opened = await waitFor(() => conversationOf.size >= QUEUE, 60_000);
  const openS = (performance.now() - openStart) / 1000;
  if (!opened) throw new Error(`only ${conversationOf.size} of ${QUEUE} conversations were opened within 60 s`);
  const queuedOk = await pollStats(stats, (s) => s.queued === QUEUE, 30_000);
  const queuedNow = (await stats()).queued;
  log(`  ${QUEUE} conversations opened in ${round(openS, 2)} s (${Math.round(QUEUE / openS)}/s); queued: ${queuedNow}${queuedOk ? '' : ' (not all!)'}`);
  if (everAssigned.size > 0) log(`  warning: ${everAssigned.size} were assigned while every agent was away`);

  const slots = AGENTS * CAPACITY;
  const firstWave = Math.min(QUEUE, slots);
  const assignCpu0 = cpuNow(target);
  const assignStart = performance.now();
  for (const a of agentSocks) a.send({ type: 'agent.status', status: 'online' });
  const deadline = assignStart + ASSIGN_TIMEOUT_MS;
  const waves: { assigned: number; seconds: number }[] = [];
  let resolved = 0;
  let timedOut = false;
  for (let wantTotal = firstWave; ; wantTotal = Math.min(QUEUE, wantTotal + slots)) {
    const reached = await waitFor(() => everAssigned.size >= wantTotal, Math.max(0, deadline - performance.now()));
    waves.push({ assigned: everAssigned.size, seconds: round((performance.now() - assignStart) / 1000, 3) });
    if (!reached) {
      timedOut = true;
      break;
    }
    if (wantTotal >= QUEUE) break;
    // The wave is in: each agent resolves what they hold, freeing slots for the queue.
    for (const a of agentSocks) {
      for (const conv of held.get(a.uid)!) {
        a.send({ type: 'chat.resolve', conversation: conv });
        resolved++;
      }
    }
  }
  const assignS = (performance.now() - assignStart) / 1000;
  const assignCpu = cpuSince(assignCpu0, target, assignS, everAssigned.size);
  const firstWaveS = waves[0]!.seconds;
  const assignments = {
    queue: QUEUE,
    opened_in_s: round(openS, 3),
    opened_per_s: Math.round(QUEUE / openS),
    queued_seen: queuedNow,
    slots,
    /** All agents online at once with a full queue: the first agents x capacity assignments. */
    first_wave: { assigned: waves[0]!.assigned, of: firstWave, seconds: firstWaveS, per_s: Math.round(waves[0]!.assigned / Math.max(firstWaveS, 0.001)) },
    /** Until the whole queue was assigned, the agents resolving each wave once it was in. */
    all: { assigned: everAssigned.size, of: QUEUE, seconds: round(assignS, 3), per_s: Math.round(everAssigned.size / assignS), resolved, timed_out: timedOut },
    waves,
    ...assignCpu,
  };
  log(
    `  first wave: ${assignments.first_wave.assigned}/${firstWave} assigned in ${firstWaveS} s (${assignments.first_wave.per_s}/s); ` +
      `all: ${everAssigned.size}/${QUEUE} in ${round(assignS, 2)} s (${assignments.all.per_s}/s, ${resolved} resolved on the way)` +
      `${timedOut ? ' TIMED OUT' : ''}  ${cpuText(assignCpu)}`,
  );

  // --- rates, over the conversations now open
  const open = [...agentOf.entries()]
    .map(([conv, agentUid]) => ({ conv, agent: agentSocks.find((a) => a.uid === agentUid)!, visitor: visitorSock.get(conv) }))
    .filter((c): c is { conv: string; agent: ChatSocket; visitor: ChatSocket } => c.visitor !== undefined);
  if (open.length === 0) throw new Error('no conversation is open for the rate phases');
  await sleep(1000);
  const rates = [];
  const errorCount = () => [...errors.values()].reduce((a, b) => a + b, 0);
  const sendOne = (i: number, dir: Direction, clientId: string, text: string) => {
    const c = open[i]!;
    const [from, to] = dir === 'visitor_to_agent' ? [c.visitor, c.agent] : [c.agent, c.visitor];
    from.send({ type: 'chat.send', conversation: c.conv, client_id: clientId, text });
    return to.uid;
  };
  for (const rate of RATES) {
    log(`rate ${rate} messages/s for ${SECONDS} s over ${open.length} conversations ...`);
    rates.push(await ratePhase(target, rate, open.length, sendOne, errorCount));
  }

  return {
    bench: 'chat',
    date: new Date().toISOString(),
    git: gitState(),
    machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? '?', node: process.version },
    load_process: 'one Node process (at most one core): holds every visitor and agent socket, sends the messages, acks every chat.message',
    config: {
      visitors: VISITORS,
      agents: AGENTS,
      capacity: CAPACITY,
      queue: QUEUE,
      rates: RATES,
      seconds: SECONDS,
      assign_timeout_s: ASSIGN_TIMEOUT_MS / 1000,
      service: target.description,
      redis: args.cluster ? 'cluster-3-masters' : 'single',
      ws_frames_per_second: Number(process.env.PMQ_WS_FRAMES_PER_SECOND),
      peers: PEER_LIST,
    },
    setup: { agents_online_s: round(agentsReadyS, 2), visitors_connect_s: round(visitorsConnectS, 2) },
    assignments,
    /** cpu_us_per_delivery: per message delivered (its frame to the other side; the sender's echo and both acks are in it too). */
    rates,
    open_conversations: open.length,
    errors: Object.fromEntries(errors),
    frames_received: Object.fromEntries(frameCounts),
  };
}

/** The sends in flight of a rate phase, PMQ's or a peer's, and what came of them. */
const flight = {
  inFlight: new Map<string, { t: number; dir: Direction; to: string }>(),
  latencies: { visitor_to_agent: [], agent_to_visitor: [] } as Record<Direction, number[]>,
  delivered: 0,
  lastDeliveryAt: 0,
};

/** A chat.message with `clientId` reached `toUid`: counted if it is a send in flight to them. */
function received(toUid: string, clientId: string, at: number): void {
  const sent = flight.inFlight.get(clientId);
  if (sent === undefined || sent.to !== toUid) return;
  flight.inFlight.delete(clientId);
  flight.latencies[sent.dir].push(at - sent.t);
  flight.delivered++;
  flight.lastDeliveryAt = at;
}

/** Sends message `clientId` over pair `i` in `dir`; returns the uid it is for. */
type SendOne = (i: number, dir: Direction, clientId: string, text: string) => string;

async function ratePhase(target: Target, rate: number, n: number, sendOne: SendOne, errorCount: () => number) {
  flight.latencies = { visitor_to_agent: [], agent_to_visitor: [] };
  flight.delivered = 0;
  flight.inFlight.clear();
  const errorsBefore = errorCount();
  const total = Math.round(rate * SECONDS);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpu0 = cpuNow(target);
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const due = Math.min(total, Math.floor((rate * (performance.now() - start)) / 1000));
      for (; sent < due; sent++) {
        // Each pass over the conversations flips the direction; within a pass they alternate.
        const dir: Direction = (sent + Math.floor(sent / n)) % 2 === 0 ? 'visitor_to_agent' : 'agent_to_visitor';
        const clientId = `r${rate}-${sent}`;
        const t = performance.now();
        const to = sendOne(sent % n, dir, clientId, `message ${sent} at ${rate}/s, ${dir}`);
        flight.inFlight.set(clientId, { t, dir, to });
      }
      if (sent >= total) done();
      else setTimeout(tick, 5);
    };
    tick();
  });
  const sentS = (performance.now() - start) / 1000;
  await waitFor(() => flight.inFlight.size === 0, 15_000, 5);
  const end = flight.inFlight.size === 0 ? flight.lastDeliveryAt : performance.now();
  const windowS = Math.max(0.001, (end - start) / 1000);
  loop.disable();
  const cpu = cpuSince(cpu0, target, windowS, flight.delivered);
  const lat = (xs: number[]) => {
    const s = xs.sort((a, b) => a - b);
    return { n: s.length, p50: round(percentile(s, 0.5), 1), p99: round(percentile(s, 0.99), 1), max: round(s.at(-1) ?? 0, 1) };
  };
  const r = {
    target_per_s: rate,
    sent,
    sent_per_s: Math.round(sent / sentS),
    delivered: flight.delivered,
    lost: flight.inFlight.size,
    errors: errorCount() - errorsBefore,
    /** Sends to their last frame on the other side. */
    window_s: round(windowS, 2),
    delivered_per_s: Math.round(flight.delivered / windowS),
    latency_ms: { visitor_to_agent: lat(flight.latencies.visitor_to_agent), agent_to_visitor: lat(flight.latencies.agent_to_visitor) },
    load_event_loop_delay_ms: { p99: round(loop.percentile(99) / 1e6, 1), max: round(loop.max / 1e6, 1) },
    ...cpu,
  };
  log(
    `  sent ${r.sent_per_s}/s, delivered ${r.delivered_per_s}/s (${r.lost} lost, ${r.errors} errors); ` +
      `v->a p50 ${r.latency_ms.visitor_to_agent.p50} p99 ${r.latency_ms.visitor_to_agent.p99} max ${r.latency_ms.visitor_to_agent.max} ms; ` +
      `a->v p50 ${r.latency_ms.agent_to_visitor.p50} p99 ${r.latency_ms.agent_to_visitor.p99} max ${r.latency_ms.agent_to_visitor.max} ms; ` +
      `load delay p99 ${r.load_event_loop_delay_ms.p99} ms  ${cpuText(cpu)}`,
  );
  await sleep(1000);
  return r;
}

/**
 * The rate phases against a chat peer (PMQ stopped): as many visitor and agent
 * sockets as PMQ had, on the peer's own client, `pairs` conversations (visitor i
 * with agent i mod agents, as PMQ's were spread), each message to the other side.
 */
async function runPeer(peer: Peer, pairs: number, dir: string, children: Child[]) {
  log(`peer ${peer}: ${AGENTS} agents, ${VISITORS} visitors, ${pairs} conversations (no assignment phase: the peers have no routing) ...`);
  const server = await spawnChatPeer(peer, dir, children, log);
  const target: Target = {
    description: server.description,
    url: `http://127.0.0.1:${server.port}`,
    apiKey: 'none',
    processes: [{ role: `chat-${peer}`, pid: server.pid }],
    socketPid: server.pid,
    socketInspectPort: undefined,
    redisPids: server.redisPids,
    connect: () => Promise.reject(new Error('bench:chat connects with connectRelay')),
  };
  const onMessage = (sock: RelaySocket, m: { client_id: string }, at: number) => received(sock.uid, m.client_id, at);
  const socks: RelaySocket[] = [];
  try {
    const prefix = `p${peer}${Date.now().toString(36)}`;
    const start = performance.now();
    const agents = await inBatches(
      Array.from({ length: AGENTS }, (_, i) => `agent:${prefix}a${i}`),
      10,
      async (uid) => {
        const s = await connectRelay(peer, server.port, uid, onMessage);
        socks.push(s);
        return s;
      },
    );
    const visitors = await inBatches(
      Array.from({ length: VISITORS }, (_, i) => `${prefix}v${i}`),
      50,
      async (uid) => {
        const s = await connectRelay(peer, server.port, uid, onMessage);
        socks.push(s);
        return s;
      },
    );
    const conv = Array.from({ length: pairs }, (_, i) => ({ conv: `${prefix}c${i}`, visitor: visitors[i % VISITORS]!, agent: agents[i % AGENTS]! }));
    const roomsOf = new Map<RelaySocket, string[]>();
    for (const c of conv) {
      for (const s of [c.visitor, c.agent]) roomsOf.set(s, [...(roomsOf.get(s) ?? []), c.conv]);
    }
    await Promise.all([...roomsOf].map(([s, rooms]) => s.join(rooms)));
    const connectS = (performance.now() - start) / 1000;
    log(`  ${AGENTS + VISITORS} sockets connected${peer === 'socketio' ? ' and in their rooms' : ''} in ${round(connectS, 2)} s`);
    await sleep(1000);
    const sendOne: SendOne = (i, dir, clientId, text) => {
      const c = conv[i]!;
      const [from, to] = dir === 'visitor_to_agent' ? [c.visitor, c.agent] : [c.agent, c.visitor];
      from.send(to.uid, c.conv, clientId, text);
      return to.uid;
    };
    const rates = [];
    for (const rate of RATES) {
      log(`peer ${peer}: rate ${rate} messages/s for ${SECONDS} s over ${pairs} conversations ...`);
      rates.push(await ratePhase(target, rate, pairs, sendOne, () => 0));
    }
    return {
      peer,
      server: server.description,
      /** The load: the same one process, the peer's client, nothing acked. */
      connect_s: round(connectS, 2),
      open_conversations: pairs,
      assignments: 'not measured: the peers have no routing (the load pairs the sockets)',
      rates,
    };
  } finally {
    for (const s of socks) s.close();
    for (const c of children.splice(0).reverse()) await c.stop();
  }
}

async function pollStats<S>(get: () => Promise<S>, ok: (s: S) => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (ok(await get())) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

function table(r: Awaited<ReturnType<typeof run>> & { peers: Awaited<ReturnType<typeof runPeer>>[] }): string {
  const a = r.assignments;
  const lines = [
    `PMQ chat bench, ${r.date}, ${r.machine.cpus} cores, node ${r.machine.node}; ${r.config.service}, redis ${r.config.redis}; ${r.load_process}`,
    `  setup      ${r.config.agents} agents (capacity ${r.config.capacity}) online in ${r.setup.agents_online_s} s, ${r.config.visitors} visitors connected in ${r.setup.visitors_connect_s} s`,
    `  queue      ${a.queue} conversations opened in ${a.opened_in_s} s (${a.opened_per_s}/s)`,
    `  assign     first ${a.first_wave.assigned}/${a.first_wave.of} in ${a.first_wave.seconds} s (${a.first_wave.per_s}/s); ` +
      `all ${a.all.assigned}/${a.all.of} in ${a.all.seconds} s (${a.all.per_s}/s, ${a.all.resolved} resolved)${a.all.timed_out ? ' TIMED OUT' : ''}  ` +
      `${cpuText(a).replace('delivery', 'assignment')}`,
    ...r.rates.map(
      (x) =>
        `  rate ${String(x.target_per_s).padStart(5)}/s  delivered ${String(x.delivered_per_s).padStart(5)}/s  ` +
        `v->a p50 ${x.latency_ms.visitor_to_agent.p50} p99 ${x.latency_ms.visitor_to_agent.p99} ms  ` +
        `a->v p50 ${x.latency_ms.agent_to_visitor.p50} p99 ${x.latency_ms.agent_to_visitor.p99} ms  ` +
        `lost ${x.lost}  ${cpuText(x).replace('delivery', 'message')}`,
    ),
    ...r.peers.flatMap((p) => [
      `  peer ${p.peer}: ${p.server}; same load process, not acking; ${p.open_conversations} conversations paired by the load (assignment phase: PMQ only)`,
      ...p.rates.map(
        (x) =>
          `    rate ${String(x.target_per_s).padStart(5)}/s  delivered ${String(x.delivered_per_s).padStart(5)}/s  ` +
          `v->a p50 ${x.latency_ms.visitor_to_agent.p50} p99 ${x.latency_ms.visitor_to_agent.p99} ms  ` +
          `a->v p50 ${x.latency_ms.agent_to_visitor.p50} p99 ${x.latency_ms.agent_to_visitor.p99} ms  ` +
          `lost ${x.lost}  ${cpuText(x).replace('delivery', 'message')}`,
      ),
    ]),
  ];
  return lines.join('\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:chat failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
