// Chat images over HTTP (DESIGN.md, "Images"): a participant of an open
// conversation uploads the raw bytes, and its participants and admins get them
// back with their type and a long private cache; everything else is refused in
// the one error shape, at once (a body over the limit is answered before the
// client has sent it all), and leaves no file behind in the upload dir.
import { request, type IncomingMessage } from 'node:http';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UPLOAD_ID } from '../../src/chat/chat-schemas.js';
import { sendMessage } from '../../src/ops/chat-send.js';
import { checkImageOf } from '../../src/ops/chat-uploads.js';
import { gif, jpeg, png, webpExtended, webpLossless, webpLossy } from '../helpers/images.js';
import { API_KEY, startTestService, type TestService } from '../helpers/service.js';

const ADMIN_KEY = 'admin-key-0123456789abcdef';
const MiB = 1024 * 1024;
const LIMIT = 5 * MiB; // PMQ_CHAT_MAX_IMAGE_BYTES' default
const CHUNK = 64 * 1024;

let t: TestService;
/** Visitors (site users) and agents: ada holds alice's and bob's; bo, registered, holds nothing. */
let tok: Record<'alice' | 'bob' | 'quinn' | 'rita' | 'ada' | 'bo', string>;
/** alice's and bob's, held by ada; quinn's, waiting; rita's, resolved by ada. */
const conv = { alice: '', bob: '', quinn: '', rita: '' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Answer = { status: number; body: any; headers: Headers };

async function tokenOf(uid: string): Promise<string> {
  const r = await t.http('POST', '/v1/tokens', { body: { uid } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.token as string;
}

/** What a visitor's first `chat.send` does: opens their conversation (and routes it). */
async function visitorSays(visitor: string, text: string): Promise<string> {
  const r = await sendMessage(
    t.service.ctx.chat,
    { kind: 'visitor', uid: visitor },
    { conversation: null, clientId: `${visitor}-1`, text, image: null },
    new Date(t.service.ctx.clock.now()),
  );
  return r.message.conversation;
}

beforeAll(async () => {
  // Requests are not rate-limited here: a test makes many in a second with one token.
  t = await startTestService({ roles: ['api'], env: { PMQ_ADMIN_KEY: ADMIN_KEY, PMQ_RATE_LIMIT_PER_USER: '0' } });
  const admin = (path: string, body: unknown) => t.http('PUT', path, { auth: ADMIN_KEY, body });
  expect((await admin('/v1/admin/agents/ada', { name: 'Ada', capacity: 10 })).status).toBe(201);
  // Registered, never online: holds nothing.
  expect((await admin('/v1/admin/agents/bo', { name: 'Bo', capacity: 10 })).status).toBe(201);
  tok = {
    alice: await tokenOf('alice'),
    bob: await tokenOf('bob'),
    quinn: await tokenOf('quinn'),
    rita: await tokenOf('rita'),
    ada: await tokenOf('agent:ada'),
    bo: await tokenOf('agent:bo'),
  };
  const routing = t.service.ctx.chat.routing;
  await routing.presence('agent:ada', 'online');
  conv.alice = await visitorSays('alice', 'hello');
  conv.bob = await visitorSays('bob', 'hi');
  conv.rita = await visitorSays('rita', 'hey');
  const resolved = await t.http('POST', `/v1/chat/conversations/${conv.rita}/resolve`, { auth: tok.ada });
  expect(resolved.body.conversation).toMatchObject({ status: 'resolved', agent: 'agent:ada' });
  // Nobody online: quinn's waits.
  await routing.presence('agent:ada', 'away');
  conv.quinn = await visitorSays('quinn', 'anyone?');
  for (const [id, status] of [
    [conv.alice, 'assigned'],
    [conv.bob, 'assigned'],
    [conv.quinn, 'queued'],
  ] as const) {
    expect((await t.http('GET', `/v1/chat/conversations/${id}`, { auth: ADMIN_KEY })).body.conversation.status).toBe(status);
  }
});
afterAll(async () => t?.stop());

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, headers: res.headers };
}

/** POST /v1/chat/uploads with the raw bytes. `query` stands for the whole query string when given. */
async function upload(auth: string | null, conversation: string, bytes: Buffer | string, type?: string, query?: string): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (auth !== null) headers.authorization = `Bearer ${auth}`;
  if (type !== undefined) headers['content-type'] = type;
  const q = query ?? `?conversation=${encodeURIComponent(conversation)}`;
  // fetch's types take a Uint8Array on its own ArrayBuffer: a Buffer's may be a shared pool.
  const body = typeof bytes === 'string' ? bytes : new Uint8Array(bytes);
  return answer(await fetch(`${t.url}/v1/chat/uploads${q}`, { method: 'POST', headers, body }));
}

async function download(auth: string | null, id: string): Promise<{ status: number; headers: Headers; bytes: Buffer; body: unknown }> {
  const res = await fetch(`${t.url}/v1/chat/uploads/${id}`, { headers: auth === null ? {} : { authorization: `Bearer ${auth}` } });
  const bytes = Buffer.from(await res.arrayBuffer());
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    // the image
  }
  return { status: res.status, headers: res.headers, bytes, body };
}

function expectError(r: { status: number; body: unknown }, status: number, code: string, field?: string): void {
  expect(r.body, JSON.stringify(r.body)).toEqual({ error: { code, message: expect.any(String), ...(field !== undefined && { field }) } });
  expect(r.status).toBe(status);
}

/** Every file under the service's upload dir, however deep (its empty directories are no upload). */
async function files(): Promise<string[]> {
  const dir = t.config.chat.uploadDir;
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/** Runs a request that must be refused, and checks that the upload dir holds the same files after it. */
async function refusedKeepingNothing<T extends { status: number; body: unknown }>(
  run: () => Promise<T>,
  status: number,
  code: string,
  field?: string,
): Promise<T> {
  const before = await files();
  const r = await run();
  expectError(r, status, code, field);
  expect(await files()).toEqual(before);
  return r;
}

/** Compared as bytes: a deep equality of a Buffer is slow and its failure unreadable. */
function expectBytes(actual: Buffer, expected: Buffer): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.equals(expected)).toBe(true);
}

/** Rejects with `what` when `p` has not settled within `ms`: a bound on a wait, not a pause. */
async function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * An upload as a browser's or a phone's HTTP client makes it, on a socket of
 * its own: `body` in 64 KiB chunks, but only its first `sendFirst` bytes before
 * it waits for the answer. A server that answered only once it had the whole
 * body would never answer: an answer proves that it came while the client
 * still had the rest to send.
 */
async function uploadInPart(o: { auth: string; conversation: string; body: Buffer; sendFirst: number; declareLength: boolean }) {
  const headers: Record<string, string> = { authorization: `Bearer ${o.auth}`, 'content-type': 'image/png' };
  // Without a length, Node sends the body chunked: the server learns its size only as it reads.
  if (o.declareLength) headers['content-length'] = String(o.body.length);
  const req = request(`${t.url}/v1/chat/uploads?conversation=${o.conversation}`, { method: 'POST', headers });
  let res: IncomingMessage | undefined;
  let broken = false;
  // The answer is taken in as it comes: once it is out the server hangs up, and
  // the client's writes of the rest fail (an error expected here, not a failure).
  const answered = new Promise<{ res: IncomingMessage; text: string }>((resolve, reject) => {
    req.once('response', (r) => {
      res = r;
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => (text += d));
      r.once('end', () => resolve({ res: r, text }));
      r.once('error', reject);
    });
  });
  const stop = new Promise((resolve) => {
    req.once('response', resolve);
    req.on('error', () => {
      broken = true;
      resolve(null);
    });
  });
  let sent = 0;
  while (sent < o.sendFirst && res === undefined && !broken) {
    const chunk = o.body.subarray(sent, Math.min(sent + CHUNK, o.sendFirst));
    sent += chunk.length;
    // A server that stops reading never drains the socket: its answer ends the wait.
    if (!req.write(chunk)) await Promise.race([new Promise((resolve) => req.once('drain', resolve)), stop]);
  }
  try {
    const { res: r, text } = await within(15_000, answered, 'answer while the client still had the rest of the body to send');
    return { status: r.statusCode!, headers: r.headers, body: JSON.parse(text) as unknown, sent, unsent: o.body.length - sent };
  } finally {
    req.destroy();
  }
}

const IMAGES: [name: string, bytes: Buffer, type: string, width: number | null, height: number | null][] = [
  ['a PNG', png(40, 30), 'image/png', 40, 30],
  ['a baseline JPEG', jpeg(64, 48), 'image/jpeg', 64, 48],
  // Its frame header lies past the 64 KiB the store walks: kept, its size unknown.
  ['a progressive JPEG behind 100 KB of camera metadata', jpeg(1200, 900, { metadata: 100_000, sof: 0xc2 }), 'image/jpeg', null, null],
  ['a GIF', gif(20, 10), 'image/gif', 20, 10],
  ['a lossy WebP', webpLossy(16, 9), 'image/webp', 16, 9],
  ['a lossless WebP', webpLossless(7, 5), 'image/webp', 7, 5],
  ['an extended WebP', webpExtended(300, 200), 'image/webp', 300, 200],
];

describe('uploading and serving an image', () => {
  it.each(IMAGES)('keeps %s and serves it back to the visitor, the agent and an admin', async (name, bytes, type, width, height) => {
    const before = await files();
    const r = await upload(tok.alice, conv.alice, bytes, type);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toEqual({ image: { id: expect.stringMatching(UPLOAD_ID), type, bytes: bytes.length, width, height } });
    const id = r.body.image.id as string;
    expect(r.headers.get('location')).toBe(`/v1/chat/uploads/${id}`);
    // The image, its sidecar and its retention marker.
    expect((await files()).filter((f) => !before.includes(f))).toHaveLength(3);

    for (const who of [tok.alice, tok.ada, ADMIN_KEY]) {
      const got = await download(who, id);
      expect(got.status, name).toBe(200);
      expectBytes(got.bytes, bytes);
      expect(got.headers.get('content-type')).toBe(type);
      expect(got.headers.get('content-length')).toBe(String(bytes.length));
      expect(got.headers.get('x-content-type-options')).toBe('nosniff');
      expect(got.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    }
  });

  it('takes one from the agent who holds the conversation, and the visitor sees it', async () => {
    const bytes = png(3, 2);
    const r = await upload(tok.ada, conv.alice, bytes, 'image/png');
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expectBytes((await download(tok.alice, r.body.image.id)).bytes, bytes);
  });

  it("takes a Content-Type's parameters and case as the same type", async () => {
    const r = await upload(tok.alice, conv.alice, gif(2, 2), 'Image/GIF; charset=binary');
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.image.type).toBe('image/gif');
  });

  it("takes a waiting visitor's upload, which any agent may see while it waits but none may add to", async () => {
    const r = await upload(tok.quinn, conv.quinn, png(5, 5), 'image/png');
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect((await download(tok.bo, r.body.image.id)).status).toBe(200);
    // But no agent writes into it before it is theirs.
    await refusedKeepingNothing(() => upload(tok.bo, conv.quinn, png(5, 5), 'image/png'), 403, 'not_participant');
  });

  it('serves an image of a resolved conversation to its participants still', async () => {
    // Uploaded while bob's was open; then resolved.
    const r = await upload(tok.bob, conv.bob, jpeg(8, 8), 'image/jpeg');
    expect(r.status).toBe(201);
    expect((await t.http('POST', `/v1/chat/conversations/${conv.bob}/resolve`, { auth: tok.ada })).status).toBe(200);
    for (const who of [tok.bob, tok.ada, ADMIN_KEY]) expect((await download(who, r.body.image.id)).status).toBe(200);
    await refusedKeepingNothing(() => upload(tok.bob, conv.bob, jpeg(8, 8), 'image/jpeg'), 409, 'conversation_resolved', 'conversation');
  });
});

describe('refused uploads: at once, in the one error shape, leaving no file', () => {
  it('a PNG renamed .gif (415 image_type_mismatch)', async () => {
    await refusedKeepingNothing(() => upload(tok.alice, conv.alice, png(10, 10), 'image/gif'), 415, 'image_type_mismatch', 'content-type');
  });

  it('a text file sent as image/png (415 not_an_image)', async () => {
    await refusedKeepingNothing(() => upload(tok.alice, conv.alice, 'just some notes, not a picture\n'.repeat(20), 'image/png'), 415, 'not_an_image');
  });

  it('a type PMQ does not keep, or none (415 unsupported_image_type)', async () => {
    await refusedKeepingNothing(() => upload(tok.alice, conv.alice, '<svg xmlns="http://www.w3.org/2000/svg"/>', 'image/svg+xml'), 415, 'unsupported_image_type', 'content-type');
    await refusedKeepingNothing(() => upload(tok.alice, conv.alice, png(1, 1), 'application/json'), 415, 'unsupported_image_type', 'content-type');
    await refusedKeepingNothing(() => upload(tok.alice, conv.alice, Buffer.from(png(1, 1))), 415, 'unsupported_image_type', 'content-type');
  });

  it('an empty body (400)', async () => {
    await refusedKeepingNothing(() => upload(tok.alice, conv.alice, '', 'image/png'), 400, 'invalid_request');
  });

  it('a 6 MiB image sent chunked (413 image_too_large), answered before the client has sent it all', async () => {
    const body = Buffer.concat([png(2000, 2000).subarray(0, 33), Buffer.alloc(6 * MiB - 33)]);
    // Past the limit by four chunks, and well short of the whole.
    const r = await refusedKeepingNothing(
      () => uploadInPart({ auth: tok.alice, conversation: conv.alice, body, sendFirst: LIMIT + 4 * CHUNK, declareLength: false }),
      413,
      'image_too_large',
    );
    // Refused by the check on the stream, not by a length it was never told.
    expect(r.sent).toBeGreaterThan(LIMIT);
    expect(r.unsent).toBe(6 * MiB - LIMIT - 4 * CHUNK);
    // Nothing more is read: the connection is closed after the answer.
    expect(r.headers.connection).toBe('close');
  });

  it('a 6 MiB image that says so (Content-Length): 413 before the client sends more than its first chunk', async () => {
    const body = Buffer.concat([png(2000, 2000).subarray(0, 33), Buffer.alloc(6 * MiB - 33)]);
    const r = await refusedKeepingNothing(
      () => uploadInPart({ auth: tok.alice, conversation: conv.alice, body, sendFirst: CHUNK, declareLength: true }),
      413,
      'image_too_large',
    );
    expect(r.sent).toBe(CHUNK);
    expect(r.headers.connection).toBe('close');
  });

  it('an image of exactly the limit is kept', async () => {
    const body = Buffer.concat([png(1, 1), Buffer.alloc(LIMIT - png(1, 1).length)]);
    const r = await upload(tok.alice, conv.alice, body, 'image/png');
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.image.bytes).toBe(LIMIT);
  });

  it("into someone else's conversation (403 not_participant)", async () => {
    await refusedKeepingNothing(() => upload(tok.bob, conv.alice, png(4, 4), 'image/png'), 403, 'not_participant');
  });

  it('by an agent who does not hold it (403 not_participant)', async () => {
    await refusedKeepingNothing(() => upload(tok.bo, conv.alice, png(4, 4), 'image/png'), 403, 'not_participant');
  });

  it('by an admin, who reads every conversation but writes in none (403 not_participant)', async () => {
    await refusedKeepingNothing(() => upload(ADMIN_KEY, conv.alice, png(4, 4), 'image/png'), 403, 'not_participant');
  });

  it('into a resolved conversation, by its visitor or its last agent (409 conversation_resolved)', async () => {
    await refusedKeepingNothing(() => upload(tok.rita, conv.rita, png(4, 4), 'image/png'), 409, 'conversation_resolved', 'conversation');
    await refusedKeepingNothing(() => upload(tok.ada, conv.rita, png(4, 4), 'image/png'), 409, 'conversation_resolved', 'conversation');
  });

  it('into no conversation: a bad id, none given, an unknown one, another parameter (400, 404)', async () => {
    await refusedKeepingNothing(() => upload(tok.alice, 'not-an-id', png(4, 4), 'image/png'), 400, 'invalid_request', 'conversation');
    await refusedKeepingNothing(() => upload(tok.alice, '', png(4, 4), 'image/png', ''), 400, 'invalid_request', 'conversation');
    await refusedKeepingNothing(() => upload(tok.alice, '', png(4, 4), 'image/png', `?conversation=${conv.alice}&conversation=${conv.bob}`), 400, 'invalid_request', 'conversation');
    await refusedKeepingNothing(() => upload(tok.alice, '', png(4, 4), 'image/png', `?conversation=${conv.alice}&name=cat.png`), 400, 'invalid_request', 'name');
    await refusedKeepingNothing(() => upload(tok.alice, 'A'.repeat(22), png(4, 4), 'image/png'), 404, 'no_conversation');
  });

  it('without credentials, or with the main site\'s API key (401, 403)', async () => {
    await refusedKeepingNothing(() => upload(null, conv.alice, png(4, 4), 'image/png'), 401, 'unauthorized');
    await refusedKeepingNothing(() => upload(API_KEY, conv.alice, png(4, 4), 'image/png'), 403, 'forbidden');
  });
});

describe('refused downloads', () => {
  let alices: string;
  beforeAll(async () => {
    const r = await upload(tok.alice, conv.alice, png(6, 6), 'image/png');
    expect(r.status).toBe(201);
    alices = r.body.image.id;
  });

  it("an image of someone else's conversation (403 not_participant), to a visitor or an agent who does not hold it", async () => {
    expectError(await download(tok.bob, alices), 403, 'not_participant');
    expectError(await download(tok.quinn, alices), 403, 'not_participant');
    expectError(await download(tok.bo, alices), 403, 'not_participant');
  });

  it('an unknown id (404 no_image), a malformed one (400 field id)', async () => {
    expectError(await download(tok.alice, 'A'.repeat(22)), 404, 'no_image');
    expectError(await download(ADMIN_KEY, 'A'.repeat(22)), 404, 'no_image');
    expectError(await download(tok.alice, 'not-an-upload'), 400, 'invalid_request', 'id');
    expectError(await download(tok.alice, `${alices}.json`), 400, 'invalid_request', 'id');
    expectError(await download(tok.alice, '..%2F..%2Fetc%2Fpasswd'), 400, 'invalid_request', 'id');
  });

  it("without credentials, or with the main site's API key (401, 403)", async () => {
    expectError(await download(null, alices), 401, 'unauthorized');
    expectError(await download(API_KEY, alices), 403, 'forbidden');
  });
});

describe('an image named by a message (checkImageOf, which sending calls)', () => {
  it("is one kept for that conversation; another conversation's, or none, is a 400 naming the field image", async () => {
    const r = await upload(tok.alice, conv.alice, png(9, 9), 'image/png');
    const id = r.body.image.id as string;
    expect(await checkImageOf(t.service.ctx.chat, conv.alice, id)).toMatchObject({ id, conversation: conv.alice, uploader: 'alice', type: 'image/png' });
    for (const [conversation, image] of [
      [conv.quinn, id],
      [conv.alice, 'A'.repeat(22)],
      [conv.alice, 'not-an-upload'],
    ] as const) {
      await expect(checkImageOf(t.service.ctx.chat, conversation, image)).rejects.toMatchObject({ status: 400, code: 'invalid_request', field: 'image' });
    }
  });
});
