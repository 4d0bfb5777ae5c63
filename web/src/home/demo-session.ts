// The demo's connection: a PmqClient on the user's token, feeding an Inbox.
//
// Signing in checks the token by connecting with it, and the `hello` that
// answers names the user: the page needs the uid for the feed (GET
// /v1/users/:uid/messages) and decodes nothing itself, and no HTTP route says
// "whose token is this". A refused token closes the socket with 4401 (4402 when
// expired), which is the sign-in's error. The client that passed is the one the
// page then uses, with the Inbox listening from the start, so that the pending
// messages that follow the hello are not missed.
import { api, ApiError, wsUrl } from '../lib/api.js';
import { PmqClient } from '../../../src/client/pmq-client.js';
import { Inbox, type FeedMessage } from './inbox.js';

/** How long a sign-in waits for the hello. */
const HELLO_TIMEOUT_MS = 10_000;
/** The feed's newest messages loaded at each hello (the pushes bring only what is pending). */
const FEED_PAGE = 30;

export interface DemoSession {
  client: PmqClient;
  inbox: Inbox;
  uid: string;
  token: string;
}

export function connectDemo(token: string): Promise<DemoSession> {
  const inbox = new Inbox();
  const client = new PmqClient({ url: wsUrl(), token });
  client.on('message', (m) => inbox.received(m));
  client.on('unread', (u) => inbox.setUnread(u));
  // At every hello (a reconnect too): what was read or came while away.
  client.on('hello', (hello) => {
    void api<{ messages: FeedMessage[] }>(`/v1/users/${encodeURIComponent(hello.uid)}/messages?limit=${FEED_PAGE}`, { credential: token })
      .then((r) => inbox.loaded(r.messages))
      .catch(() => undefined); // the pushes still come; the list then starts with them
  });

  return new Promise((resolve, reject) => {
    const fail = (err: ApiError) => {
      clearTimeout(timer);
      offHello();
      offClose();
      client.close();
      reject(err);
    };
    const timer = setTimeout(() => fail(new ApiError(0, 'no_answer', 'The gateway did not answer in time; is the service running?')), HELLO_TIMEOUT_MS);
    const offHello = client.on('hello', (hello) => {
      clearTimeout(timer);
      offHello();
      offClose();
      resolve({ client, inbox, uid: hello.uid, token });
    });
    const offClose = client.on('close', (c) => {
      // A close it will retry (the network) may still end in a hello, until the timeout.
      if (c.willReconnect) return;
      fail(refusal(c.code, c.reason));
    });
    client.connect();
  });
}

/** What a close before the hello means to the person signing in. */
export function refusal(code: number, reason: string): ApiError {
  if (code === 4401) return new ApiError(401, 'unauthorized', 'This token was refused: it is not a valid token of this service');
  if (code === 4402) return new ApiError(401, 'token_expired', 'This token has expired: mint a new one');
  return new ApiError(0, `closed_${code}`, `The gateway closed the connection (${code}${reason ? `: ${reason}` : ''})`);
}
