// Run beside `npm start`: KEY=<API key> npx tsx examples/client.ts
import WebSocket from 'ws';
import { PmqClient } from '../src/client/index.js';

const pmq = process.env.PMQ_URL ?? 'http://localhost:8080';

// The main site mints a token for its user (uid 42) with its API key...
const res = await fetch(`${pmq}/v1/tokens`, {
  method: 'POST',
  headers: { authorization: `Bearer ${process.env.KEY}`, 'content-type': 'application/json' },
  body: JSON.stringify({ uid: '42', ttl: 3600 }),
});
const { token } = (await res.json()) as { token: string };

// ...and the user's client connects with it.
const client = new PmqClient({ url: `${pmq.replace(/^http/, 'ws')}/ws`, token, WebSocket });
client.on('message', (m) => console.log(m.title));
client.on('unread', (u) => console.log('badge', u.total));
client.connect();
