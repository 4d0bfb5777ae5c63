// Chat images on disk, on a temp dir of each test's own: an upload is refused
// as soon as its bytes show what is wrong, with the status and code a client
// gets, reading no further and leaving no file behind; a kept image is its
// bytes, its size and its sidecar, served by id and by id only.
import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UPLOAD_ID } from '../../src/chat/chat-schemas.js';
import { ChatUploads, type UploadedImage } from '../../src/store/chat-uploads.js';
import { HttpError } from '../../src/errors.js';
import { gif, jpeg, png, webpLossless } from '../helpers/images.js';

const MiB = 1024 * 1024;
const SOURCE = { conversation: 'c0nversation-id-22chars', uploader: 'v:abc', now: new Date('2025-03-04T05:06:07.890Z') };

let root: string;
let dir: string;
let uploads: ChatUploads;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'pmq-uploads-'));
  // Not created beforehand: the store makes it.
  dir = join(root, 'uploads');
  uploads = new ChatUploads(dir, 5 * MiB);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A body handed out in chunks, counting them, and whether it was run to its end or stopped. */
function body(data: Buffer, chunkSize = 64 * 1024) {
  const seen = { chunks: 0, ended: false, stopped: false };
  async function* chunks() {
    try {
      for (let at = 0; at < data.length; at += chunkSize) {
        seen.chunks++;
        // A fresh buffer each time, as a socket would hand out.
        yield Buffer.from(data.subarray(at, at + chunkSize));
      }
      seen.ended = true;
    } finally {
      seen.stopped = !seen.ended;
    }
  }
  return { seen, chunks: chunks(), total: Math.ceil(data.length / chunkSize) };
}

/** Every file under the upload dir, however deep (empty directories are not files). */
async function files(): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

async function refused(p: Promise<unknown>, status: number, code: string, field?: string): Promise<HttpError> {
  const err = await p.then(
    () => expect.fail('the upload was kept'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HttpError);
  expect(err).toMatchObject({ status, code, field });
  expect(await files()).toEqual([]);
  return err as HttpError;
}

/** Compared as bytes: a deep equality of a large Buffer is slow. */
function expectBytes(actual: Buffer, expected: Buffer): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.equals(expected)).toBe(true);
}

/** An image padded to `size` bytes: what follows the header is no business of the checks. */
function padded(image: Buffer, size: number): Buffer {
  return Buffer.concat([image, Buffer.alloc(size - image.length)]);
}

describe('receiving an upload', () => {
  it('refuses a body over the limit as soon as it passes it, reading no further (413 image_too_large)', async () => {
    const b = body(padded(png(10, 10), 6 * MiB));
    await refused(uploads.receive(b.chunks, 'image/png', SOURCE), 413, 'image_too_large');
    // 5 MiB is 80 chunks of 64 KiB: the 81st passes it, and is the last one asked for.
    expect(b.seen).toEqual({ chunks: 81, ended: false, stopped: true });
    expect(b.total).toBe(96);
  });

  it('takes a body of exactly the limit', async () => {
    const image = await uploads.receive(body(padded(png(10, 10), 5 * MiB)).chunks, 'image/png', SOURCE);
    expect(image.bytes).toBe(5 * MiB);
  });

  it('stops reading a Readable over the limit but does not destroy it: the caller still has to answer on its socket', async () => {
    const b = body(padded(png(10, 10), 6 * MiB));
    const stream = Readable.from(b.chunks, { objectMode: false, highWaterMark: 64 * 1024 });
    await refused(uploads.receive(stream, 'image/png', SOURCE), 413, 'image_too_large');
    expect(stream.destroyed).toBe(false);
    // What the stream read ahead into its buffer, at most: far from the whole body.
    expect(b.seen.chunks).toBeLessThan(b.total);
    expect(b.seen.ended).toBe(false);
    stream.destroy();
  });

  it.each([
    ['text/plain', 'text/plain'],
    ['image/svg+xml', 'image/svg+xml'],
    ['no content-type', undefined],
  ])('refuses %s before reading a byte (415 unsupported_image_type)', async (_name, declared) => {
    const b = body(png(10, 10));
    await refused(uploads.receive(b.chunks, declared, SOURCE), 415, 'unsupported_image_type', 'content-type');
    expect(b.seen.chunks).toBe(0);
  });

  it('refuses text sent as a PNG at its first chunk (415 not_an_image)', async () => {
    const b = body(Buffer.from('just some words, not a picture\n'.repeat(10_000)), 1024);
    await refused(uploads.receive(b.chunks, 'image/png', SOURCE), 415, 'not_an_image');
    expect(b.seen).toMatchObject({ chunks: 1, stopped: true });
  });

  it('refuses a PNG sent as a GIF (415 image_type_mismatch)', async () => {
    const b = body(padded(png(10, 10), 100_000), 1024);
    const err = await refused(uploads.receive(b.chunks, 'image/gif', SOURCE), 415, 'image_type_mismatch', 'content-type');
    expect(err.message).toContain('image/png');
    expect(b.seen).toMatchObject({ chunks: 1, stopped: true });
  });

  it.each([
    ['a PNG cut short before its size', png(10, 10).subarray(0, 20)],
    ['a PNG whose first chunk is not IHDR', Buffer.concat([png(1, 1).subarray(0, 12), Buffer.from('IDAT'), Buffer.alloc(100)])],
    ['a JPEG that ends before its frame header', jpeg(10, 10, { metadata: 1000 }).subarray(0, 900)],
    ['a JPEG that ends at once', Buffer.from([0xff, 0xd8, 0xff, 0xd9])],
  ])('refuses %s (415 not_an_image)', async (_name, bytes) => {
    const type = bytes[0] === 0xff ? 'image/jpeg' : 'image/png';
    await refused(uploads.receive(body(bytes).chunks, type, SOURCE), 415, 'not_an_image');
  });

  it('refuses an empty body (400)', async () => {
    await refused(uploads.receive(body(Buffer.alloc(0)).chunks, 'image/png', SOURCE), 400, 'invalid_request');
  });

  it('leaves nothing behind when the body fails midway (a client gone)', async () => {
    async function* failing() {
      yield png(10, 10);
      yield Buffer.alloc(1000);
      throw Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    }
    await expect(uploads.receive(failing(), 'image/png', SOURCE)).rejects.toThrow('aborted');
    expect(await files()).toEqual([]);
  });
});

describe('a kept image', () => {
  const KINDS: [string, Buffer, string, number | null, number | null][] = [
    ['image/png', png(640, 480), 'image/png', 640, 480],
    ['image/jpeg', jpeg(1920, 1080, { metadata: 30_000 }), 'image/jpeg', 1920, 1080],
    ['image/gif', gif(320, 200), 'image/gif', 320, 200],
    ['image/webp', webpLossless(1024, 768), 'image/webp', 1024, 768],
    // Camera metadata beyond the sniffing bound: kept, of unknown size.
    ['a JPEG whose frame header lies past 64 KiB', jpeg(4032, 3024, { metadata: 2 * 65533 }), 'image/jpeg', null, null],
  ];

  it.each(KINDS)('%s: its id, type, bytes and size; the file and its sidecar', async (_name, bytes, type, width, height) => {
    const image = await uploads.receive(body(bytes, 4096).chunks, `${type}; charset=binary`, SOURCE);
    expect(image).toEqual({ id: expect.stringMatching(UPLOAD_ID), type, bytes: bytes.length, width, height });
    expectBytes(await readFile(join(dir, image.id)), bytes);
    expect(JSON.parse(await readFile(join(dir, `${image.id}.json`), 'utf8'))).toEqual({
      ...image,
      conversation: SOURCE.conversation,
      uploader: SOURCE.uploader,
      created_at: '2025-03-04T05:06:07.890Z',
    });
  });

  it('finds a deep JPEG frame header whatever the chunking, even a few bytes at a time', async () => {
    const bytes = jpeg(800, 600, { metadata: 60_000 });
    const image = await uploads.receive(body(bytes, 7).chunks, 'image/jpeg', SOURCE);
    expect(image).toMatchObject({ width: 800, height: 600, bytes: bytes.length });
  });

  it('gives each upload an id of its own', async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => uploads.receive(body(gif(1, 1)).chunks, 'image/gif', SOURCE).then((i) => i.id)));
    expect(new Set(ids).size).toBe(20);
    expect((await files()).filter((f) => UPLOAD_ID.test(f)).sort()).toEqual([...ids].sort());
  });

  it('is found by get and served by open, until removed', async () => {
    const bytes = png(3, 4);
    const image = await uploads.receive(body(bytes).chunks, 'image/png', SOURCE);

    const got = await uploads.get(image.id);
    expect(got?.meta).toMatchObject({ ...image, conversation: SOURCE.conversation, uploader: SOURCE.uploader });
    expectBytes(await readFile(got!.path), bytes);

    const opened = await uploads.open(image.id);
    expect(opened?.meta).toEqual(got?.meta);
    const served: Buffer[] = [];
    for await (const chunk of opened!.stream) served.push(chunk as Buffer);
    expectBytes(Buffer.concat(served), bytes);

    expect(await uploads.remove(image.id)).toBe(true);
    expect(await uploads.get(image.id)).toBeNull();
    expect(await uploads.open(image.id)).toBeNull();
    expect(await uploads.remove(image.id)).toBe(false);
    expect(await files()).toEqual([]);
  });

  it('serves to its end a stream opened before a removal', async () => {
    const bytes = padded(png(3, 4), 300_000);
    const image = await uploads.receive(body(bytes).chunks, 'image/png', SOURCE);
    const opened = await uploads.open(image.id);
    await uploads.remove(image.id);
    const served: Buffer[] = [];
    for await (const chunk of opened!.stream) served.push(chunk as Buffer);
    expectBytes(Buffer.concat(served), bytes);
  });

  it('is not there while its sidecar lacks its image (an upload a crash cut short)', async () => {
    const image = await uploads.receive(body(png(3, 4)).chunks, 'image/png', SOURCE);
    await rm(join(dir, image.id));
    expect(await uploads.get(image.id)).toBeNull();
    expect(await uploads.open(image.id)).toBeNull();
  });

  it.each([
    '../secret',
    '..%2fsecret',
    'uploads/../../secret',
    '/etc/passwd',
    '',
    '.tmp',
    'AAAAAAAAAAAAAAAAAAAAA.', // 22 characters, one of them not of the id alphabet
    'AAAAAAAAAAAAAAAAAAAA/A',
    'AAAAAAAAAAAAAAAAAAAAAA.json',
    'AAAAAAAAAAAAAAAAAAAAAA\n',
  ])('refuses the id %j, without a look at the disk', async (id) => {
    await writeFile(join(root, 'secret'), '{"id":"secret"}');
    await writeFile(join(root, 'secret.json'), '{"id":"secret"}');
    expect(await uploads.get(id)).toBeNull();
    expect(await uploads.open(id)).toBeNull();
    expect(await uploads.remove(id)).toBe(false);
    expect(await readFile(join(root, 'secret'), 'utf8')).toBe('{"id":"secret"}');
  });

  it('finds nothing under a well-formed id that no upload has', async () => {
    expect(await uploads.get('AAAAAAAAAAAAAAAAAAAAAA')).toBeNull();
    expect(await uploads.open('AAAAAAAAAAAAAAAAAAAAAA')).toBeNull();
  });
});

describe('retention', () => {
  const HOUR = 3600_000;
  const T0 = Date.parse('2025-03-01T00:00:00Z');

  async function uploadAt(hoursAfterT0: number): Promise<UploadedImage> {
    return uploads.receive(body(gif(1, 1)).chunks, 'image/gif', { ...SOURCE, now: new Date(T0 + hoursAfterT0 * HOUR) });
  }

  it('removes the uploads of the hours before the cutoff, oldest first, at most `limit` a call', async () => {
    const old = [await uploadAt(0), await uploadAt(0.5), await uploadAt(1), await uploadAt(2.9)];
    const young = [await uploadAt(3.2), await uploadAt(10)];
    const before = new Date(T0 + 3.5 * HOUR);

    expect(await uploads.removeOlderThan(before, 3)).toBe(3);
    // The oldest three went; hour 2 is still there.
    expect(await uploads.get(old[3]!.id)).not.toBeNull();
    for (const i of old.slice(0, 3)) expect(await uploads.get(i.id)).toBeNull();

    expect(await uploads.removeOlderThan(before, 3)).toBe(1);
    expect(await uploads.removeOlderThan(before, 3)).toBe(0);
    for (const i of young) expect(await uploads.get(i.id)).not.toBeNull();

    // To the hour: the one at 3.2 h waits until its hour is wholly before the cutoff.
    expect(await uploads.removeOlderThan(new Date(T0 + 3.9 * HOUR), 10)).toBe(0);
    expect(await uploads.removeOlderThan(new Date(T0 + 4 * HOUR), 10)).toBe(1);
    expect((await files()).sort()).toEqual([young[1]!.id, `${young[1]!.id}.json`, `.by-hour/2025-03-01T10/${young[1]!.id}`].sort());
  });

  it("by conversation: removes the old images of a conversation gone, keeps those of one still kept and looks at them again later", async () => {
    const gone = await uploads.receive(body(gif(1, 1)).chunks, 'image/gif', { ...SOURCE, conversation: 'gone-conversation-22chr', now: new Date(T0) });
    const kept = await uploads.receive(body(gif(1, 1)).chunks, 'image/gif', { ...SOURCE, conversation: 'kept-conversation-22chr', now: new Date(T0) });
    const young = await uploadAt(10);
    const asked: string[] = [];
    const isGone = async (c: string) => {
      asked.push(c);
      return c === 'gone-conversation-22chr';
    };
    const now = new Date(T0 + 20 * HOUR);
    expect(await uploads.expireOlderThan(new Date(T0 + 5 * HOUR), now, 10, isGone)).toEqual({ removed: 1, kept: 1 });
    expect(await uploads.get(gone.id)).toBeNull();
    expect(await uploads.get(kept.id)).not.toBeNull();
    expect(await uploads.get(young.id)).not.toBeNull();
    expect(asked.sort()).toEqual(['gone-conversation-22chr', 'kept-conversation-22chr']);
    // The kept one is indexed under `now`'s hour: not looked at again before that hour is old.
    asked.length = 0;
    expect(await uploads.expireOlderThan(new Date(T0 + 5 * HOUR), now, 10, isGone)).toEqual({ removed: 0, kept: 0 });
    expect(asked).toEqual([]);
    expect(await uploads.expireOlderThan(new Date(T0 + 21 * HOUR), now, 10, async () => true)).toEqual({ removed: 2, kept: 0 });
    expect(await uploads.get(kept.id)).toBeNull();
    expect(await uploads.get(young.id)).toBeNull();
  });

  it('cleans up after an upload a crash left half made (a sidecar and marker, no image)', async () => {
    const image = await uploadAt(0);
    await rm(join(dir, image.id));
    expect(await uploads.removeOlderThan(new Date(T0 + 2 * HOUR), 10)).toBe(1);
    expect(await files()).toEqual([]);
  });

  it('has nothing to do on a directory never written to', async () => {
    expect(await uploads.removeOlderThan(new Date(), 10)).toBe(0);
    expect(await uploads.removeAbandoned(new Date(), 10)).toBe(0);
  });

  it('removes temp files that no upload has written to since the cutoff', async () => {
    await mkdir(join(dir, '.tmp'), { recursive: true });
    const stale = join(dir, '.tmp', 'stale');
    const fresh = join(dir, '.tmp', 'fresh');
    await writeFile(stale, 'x');
    await writeFile(fresh, 'y');
    const then = new Date(Date.now() - 2 * HOUR);
    await utimes(stale, then, then);
    expect(await uploads.removeAbandoned(new Date(Date.now() - HOUR), 10)).toBe(1);
    await expect(stat(stale)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(fresh, 'utf8')).toBe('y');
  });
});
