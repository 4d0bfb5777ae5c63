// A child process for the routing concurrency test: a PMQ service (role api) on
// the test's Redis, doing random chat operations through ops/ as fast as it can,
// with visitors of its own, on the agents the test registered. It prints
// "progress <n>" as it goes and "done <n>" at the end. Args: <name> <operations> <seed>.
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { resolveConversation, transferConversation } from '../../src/ops/chat-manage.js';
import { setPresence } from '../../src/ops/chat-presence.js';
import { sendMessage } from '../../src/ops/chat-send.js';
import { putAgent } from '../../src/ops/chat-agents.js';
import { redisTargetOf } from '../../src/redis/connection.js';
import { startService } from '../../src/service.js';

const [name = 'h', operationsArg = '300', seedArg = '1'] = process.argv.slice(2);
const AGENTS = ['a0', 'a1', 'a2', 'a3'];

let seed = Number(seedArg);
const rand = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const config = loadConfig(process.env);
const service = await startService({
  config,
  redisTarget: redisTargetOf(config, config.redisUrl ?? 'redis://127.0.0.1:6379'),
  roles: ['api'],
  logger: createLogger('silent', config.nodeId),
});
const chat = service.ctx.chat;
const opened: string[] = [];
const total = Number(operationsArg);
for (let n = 1; n <= total; n++) {
  const now = new Date();
  const r = rand();
  try {
    if (r < 0.35) {
      const visitor = `${name}-v${Math.floor(rand() * 40)}`;
      const sent = await sendMessage(chat, { kind: 'visitor', uid: visitor }, { conversation: null, clientId: `${name}-${n}`, text: 'hi', image: null }, now);
      opened.push(sent.message.conversation);
    } else if (r < 0.55 && opened.length > 0) {
      await resolveConversation(chat, { kind: 'admin' }, pick(opened), now);
    } else if (r < 0.65 && opened.length > 0) {
      await transferConversation(chat, { kind: 'admin' }, pick(opened), rand() < 0.5 ? null : `agent:${pick(AGENTS)}`, now);
    } else if (r < 0.9) {
      await setPresence(chat, `agent:${pick(AGENTS)}`, pick(['online', 'online', 'away', 'offline', 'connected'] as const), now);
    } else {
      const id = pick(AGENTS);
      await putAgent(chat, id, { name: id, capacity: Math.floor(rand() * 4) }, now);
    }
  } catch (err) {
    // Refusals (agent_unavailable, not_assigned, not_participant...) are expected of random operations.
    if (!(err as { status?: number }).status || (err as { status: number }).status >= 500) throw err;
  }
  if (n % 20 === 0) process.stdout.write(`progress ${n}\n`);
}
process.stdout.write(`done ${total}\n`);
await service.stop();
process.exit(0);
