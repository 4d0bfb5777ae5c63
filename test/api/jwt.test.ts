// A PMQ token is exactly what PMQ signed: no byte after the signature, no other
// spelling of the same signature, over HTTP and over /ws alike. And a token on
// the URL is held to the auth frame's limits, not sent on to the main site.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, waitFor, type TestService } from '../helpers/service.js';
import { mintToken, wsUrl } from '../helpers/ws-client.js';
import { openSocket, startMainSite, type MainSite, type ProbeSocket } from '../helpers/ws-raw.js';

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * The same token with its last character's unused low bit flipped: base64url
 * decoders that ignore those bits read the same signature from it.
 */
function respelled(token: string): string {
  const last = B64URL.indexOf(token.at(-1)!);
  return token.slice(0, -1) + B64URL[last ^ 1];
}

/** Tokens that are a valid token plus something: each must be refused. */
const tampered = (token: string): [string, string][] => [
  ['"=" after the signature', `${token}=`],
  ['"==" after the signature', `${token}==`],
  ['a tab after the signature', `${token}\t`],
  ['a newline after the signature', `${token}\n`],
  ['another spelling of the signature', respelled(token)],
];

const sockets: ProbeSocket[] = [];
afterAll(() => {
  for (const s of sockets) s.ws.terminate();
});

async function open(url: string): Promise<ProbeSocket> {
  const s = await openSocket(url);
  sockets.push(s);
  return s;
}

describe('PMQ tokens with bytes after the signature', () => {
  let t: TestService;
  let token: string;
  beforeAll(async () => {
    t = await startTestService({ roles: ['api', 'gateway'] });
    token = await mintToken(t, 'jwt-user');
  });
  afterAll(async () => {
    await t.stop();
  });

  it('are refused over HTTP with 401, while the token itself is taken', async () => {
    expect((await t.http('GET', '/v1/users/jwt-user/unread', { auth: token })).status).toBe(200);
    // Whitespace at the end of a header is not part of its value (HTTP drops it),
    // so only the other cases can be sent in one.
    for (const [what, bad] of tampered(token).filter(([, b]) => b.trim() === b)) {
      const r = await t.http('GET', '/v1/users/jwt-user/unread', { auth: bad });
      expect(r.status, what).toBe(401);
      expect(r.body.error.code, what).toBe('unauthorized');
    }
  });

  it.each(['url', 'frame'] as const)('are refused over /ws (%s) with 4401, while the token itself is taken', async (how) => {
    const connect = async (tok: string) => {
      if (how === 'url') return open(`${wsUrl(t)}?token=${encodeURIComponent(tok)}`);
      const s = await open(wsUrl(t));
      s.send({ type: 'auth', token: tok });
      return s;
    };
    const good = await connect(token);
    await good.waitForFrame('hello');
    for (const [what, bad] of tampered(token)) {
      const s = await connect(bad);
      expect((await waitFor(() => s.closedWith, 5000, `${what}: a close`)).code, what).toBe(4401);
      expect(s.framesOf('hello'), what).toEqual([]);
    }
  });
});

describe('a ?token= longer than the auth frame allows', () => {
  let t: TestService;
  let site: MainSite;
  const long = 'x'.repeat(4097);
  beforeAll(async () => {
    // A main site that takes any token: were the long one passed on, it would get in.
    site = await startMainSite(() => ({ status: 200, uid: 'anyone' }));
    t = await startTestService({ roles: ['api', 'gateway'], env: { PMQ_AUTH_URL: site.url } });
  });
  afterAll(async () => {
    await t.stop();
    await site.close();
  });

  it('is refused as the auth frame refuses it, and never reaches the main site', async () => {
    const byFrame = await open(wsUrl(t));
    byFrame.send({ type: 'auth', token: long });
    const frameError = await byFrame.waitForFrame('error');

    const byUrl = await open(`${wsUrl(t)}?token=${long}`);
    const urlError = await byUrl.waitForFrame('error');
    expect(urlError).toEqual(frameError);
    expect(urlError).toMatchObject({ code: 'invalid_frame', field: 'token' });
    expect((await waitFor(() => byUrl.closedWith, 5000, 'a close')).code).toBe(4401);
    expect(byUrl.framesOf('hello')).toEqual([]);

    // A token of exactly the limit is checked as any other (the main site takes it).
    const atLimit = await open(`${wsUrl(t)}?token=${'y'.repeat(4096)}`);
    await atLimit.waitForFrame('hello');
    await waitFor(() => site.callsFor('y'.repeat(4096)) === 1);
    expect(site.callsFor(long)).toBe(0);
  });
});
