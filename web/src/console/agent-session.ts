// Signing an agent in: the token is an agent's when the agents' list takes it
// (a visitor's or a site user's is refused with 403) and the gateway's `hello`
// says so (it carries `agent`; the admin key, which the list also takes, opens
// no socket). The socket that proved it is the console's socket from then on.
import { PmqClient, type ClientEvents, type HelloFrame } from '../../../src/client/pmq-client.js';
import { ApiError, wsUrl } from '../lib/api.js';
import { AgentHttp, type AgentInfo } from './http.js';

export interface AgentSession {
  token: string;
  uid: string;
  client: PmqClient;
  http: AgentHttp;
  hello: HelloFrame & { agent: NonNullable<HelloFrame['agent']> };
  agents: AgentInfo[];
  /**
   * Listens to the client, once. What came from the `hello` on (the messages the
   * agent missed follow it at once) is handed over first, in the order it came,
   * so that nothing is lost while the page builds.
   */
  attach(handlers: Handlers): void;
}

export type Handlers = { [K in keyof ClientEvents]?: (payload: ClientEvents[K]) => void };

const HELLO_TIMEOUT_MS = 10_000;

/** Events buffered until the console listens to them. */
const BUFFERED: (keyof ClientEvents)[] = ['hello', 'message', 'unread', 'error', 'chat.message', 'chat.conversation', 'chat.receipt', 'chat.typing', 'chat.agent', 'close'];

const notAnAgent = () =>
  new ApiError(403, 'not_an_agent', "This token is not an agent's: sign in with a token the site minted for agent:<id>.");

export async function openAgentSession(token: string): Promise<AgentSession> {
  const http = new AgentHttp(token);
  let agents: AgentInfo[];
  try {
    agents = await http.agents();
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) throw notAnAgent();
    throw err;
  }

  const client = new PmqClient({ url: wsUrl(), token });
  const early: { event: keyof ClientEvents; payload: unknown }[] = [];
  const stops = BUFFERED.map((event) => client.on(event, (payload) => early.push({ event, payload })));
  const hello = await new Promise<HelloFrame>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      offHello();
      offClose();
    };
    const fail = (err: Error) => {
      done();
      client.close();
      reject(err);
    };
    const timer = setTimeout(() => fail(new ApiError(0, 'unreachable', 'The gateway did not answer: try again in a moment.')), HELLO_TIMEOUT_MS);
    const offHello = client.on('hello', (h) => {
      done();
      resolve(h);
    });
    // A refused token is not tried again (willReconnect false); a network error is, until the timer.
    const offClose = client.on('close', (c) => {
      if (!c.willReconnect) fail(new ApiError(401, c.code === 4402 ? 'token_expired' : 'unauthorized', "The gateway refused this token: sign in with an agent's token."));
    });
    client.connect();
  });
  if (hello.agent === undefined) {
    client.close();
    throw notAnAgent();
  }

  return {
    token,
    uid: hello.uid,
    client,
    http,
    hello: hello as AgentSession['hello'],
    agents,
    attach(handlers) {
      for (const stop of stops) stop();
      for (const [event, fn] of Object.entries(handlers)) client.on(event as keyof ClientEvents, fn as (p: unknown) => void);
      for (const e of early.splice(0)) (handlers[e.event] as ((p: unknown) => void) | undefined)?.(e.payload);
    },
  };
}
