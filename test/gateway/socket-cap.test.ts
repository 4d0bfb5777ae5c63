// One user's token holds a bounded number of sockets on a node
// (PMQ_WS_MAX_SOCKETS_PER_USER, 20 by default): the one over the cap is closed
// with 4429 and leaves nothing behind; the others are served as before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE } from '../../src/protocol/close-codes.js';
import { startTestService, waitFor, type TestService } from '../helpers/service.js';
import { mintToken, wsUrl } from '../helpers/ws-client.js';
import { openSocket, type ProbeSocket } from '../helpers/ws-raw.js';

let t: TestService;
const sockets: ProbeSocket[] = [];

beforeAll(async () => {
  t = await startTestService({ roles: ['api', 'gateway', 'worker'] });
});
afterAll(async () => {
  for (const s of sockets) s.ws.terminate();
  await t.stop();
});

/** A socket that authenticates on its URL, or (no token) opens for an auth frame. */
async function open(token?: string): Promise<ProbeSocket> {
  const s = await openSocket(token === undefined ? wsUrl(t) : `${wsUrl(t)}?token=${token}`);
  sockets.push(s);
  return s;
}

/** The gateway nodes the registry holds for `uid`, and whether this node lists `uid`. */
async function registry(uid: string): Promise<{ nodes: string[]; listed: boolean }> {
  const { redis, keys, config } = t.service.ctx;
  const [nodes, listed] = await Promise.all([redis.hkeys(keys.user(uid).nodes), redis.sismember(keys.nodeUsers(config.nodeId), uid)]);
  return { nodes, listed: listed === 1 };
}

describe('sockets per user', () => {
  it('the 21st socket of a user is closed with 4429; the 20 others still get pushes', async () => {
    expect(t.config.wsMaxSocketsPerUser).toBe(20);
    const token = await mintToken(t, 'many');
    const first = await Promise.all(Array.from({ length: 20 }, () => open(token)));
    for (const s of first) await s.waitForFrame('hello');
    const before = t.service.gateway!.connections;

    const extra = await open(token);
    const closed = await waitFor(() => extra.closedWith, 10_000, 'the 21st socket closed');
    expect(closed.code).toBe(CLOSE.tooManySockets);
    expect(closed.code).toBe(4429);
    expect(closed.reason).toMatch(/20 sockets/);
    expect(extra.framesOf('hello')).toEqual([]);
    // The refused socket is gone from the node, and the node still lists the user for the others.
    await waitFor(() => t.service.gateway!.connections === before, 5000, 'the refused socket gone from the node');
    expect(await registry('many')).toEqual({ nodes: [t.config.nodeId], listed: true });

    // The others are served: a push reaches each of them.
    expect((await t.http('POST', '/v1/events', { body: { id: 'to-many', type: 'notice', to: 'many' } })).status).toBe(202);
    for (const s of first) {
      expect(await s.waitForFrame('message')).toMatchObject({ id: 'to-many' });
      expect(s.closedWith).toBeUndefined();
    }
    // Another user is not limited by this one.
    const other = await open(await mintToken(t, 'other'));
    expect(await other.waitForFrame('hello')).toMatchObject({ uid: 'other' });

    // A place freed by a close is free again.
    first[0]!.ws.close();
    await first[0]!.closed;
    const again = await open(token);
    expect(await again.waitForFrame('hello')).toMatchObject({ uid: 'many' });

    // Once all are closed, the registry holds nothing of the user.
    for (const s of [...first, again]) s.ws.close();
    await waitFor(async () => {
      const r = await registry('many');
      return r.nodes.length === 0 && !r.listed;
    }, 5000, 'the user gone from the registry');
  });

  it('holds for sockets that authenticate by frame, all at once', async () => {
    const token = await mintToken(t, 'framed');
    const byFrame = await Promise.all(
      Array.from({ length: 21 }, async () => {
        const s = await open();
        s.send({ type: 'auth', token });
        return s;
      }),
    );
    await waitFor(() => byFrame.filter((s) => s.closedWith?.code === 4429).length === 1, 10_000, 'one socket refused');
    await waitFor(() => byFrame.filter((s) => s.framesOf('hello').length > 0).length === 20, 10_000, '20 welcomed');
  });
});
