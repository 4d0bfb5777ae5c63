// Chat images on disk (DESIGN.md, "Images"): an upload streams to a temp file,
// checked as it comes (size against the limit, type by its first bytes), and
// is refused at once, leaving nothing behind; a kept image is a file named by
// its id beside a JSON sidecar. The directory may be a volume that several api
// nodes share: every step is a create, a rename or a remove of a file of its
// own, and nothing is held in memory across calls.
//
//   <dir>/<id>                  the image, as uploaded
//   <dir>/<id>.json             its sidecar (UploadMeta)
//   <dir>/.by-hour/<hour>/<id>  empty markers, the index retention walks
//   <dir>/.tmp/                 uploads in flight
//
// The image is the last of an upload's files to appear and the first to go:
// whatever a crash leaves half made (a sidecar without an image) is never
// served and is still found by retention, through its marker.
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, open, opendir, readdir, readFile, rename, rm, rmdir, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { UPLOAD_ID } from '../chat/chat-schemas.js';
import { MAX_HEADER_BYTES, SNIFF_BYTES, imageTypeOf, sniffImage, type ImageType, type SniffedImage } from '../chat/image-type.js';
import {
  ImageTooLargeError,
  ImageTypeMismatchError,
  NotAnImageError,
  UnsupportedImageTypeError,
  ValidationError,
} from '../errors.js';

/** What the uploader is answered, and what a message's `image` refers to. */
export interface UploadedImage {
  id: string;
  type: ImageType;
  bytes: number;
  /** Null only for a JPEG whose frame header lies past MAX_HEADER_BYTES (chat/image-type.ts). */
  width: number | null;
  height: number | null;
}

/** The sidecar: what serving an image needs to decide who may see it. */
export interface UploadMeta extends UploadedImage {
  conversation: string;
  uploader: string;
  created_at: string;
}

export interface UploadSource {
  conversation: string;
  uploader: string;
  now: Date;
}

const TMP = '.tmp';
const INDEX = '.by-hour';

export class ChatUploads {
  private readonly tmpDir: string;
  private readonly indexDir: string;

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {
    this.tmpDir = join(dir, TMP);
    this.indexDir = join(dir, INDEX);
  }

  /**
   * Keeps one image, or refuses it as soon as it can tell: a Content-Type not
   * among the four (415 unsupported_image_type) before a byte is read; then,
   * while the body streams, more than maxBytes (413 image_too_large), first
   * bytes of no image (415 not_an_image), or of another type than declared
   * (415 image_type_mismatch); an empty body is 400.
   *
   * A refused body is not read any further. A Readable (an HTTP request) is
   * left as it is, paused, not destroyed: destroying a request resets its
   * socket and the client would never see the answer. It is for the caller to
   * answer and close the connection (`Connection: close`). Any other iterable
   * is stopped through its iterator's return().
   */
  async receive(body: AsyncIterable<Buffer | Uint8Array> | Readable, declaredType: string | undefined, source: UploadSource): Promise<UploadedImage> {
    const declared = imageTypeOf(declaredType);
    if (declared === null) throw new UnsupportedImageTypeError();

    await mkdir(this.tmpDir, { recursive: true });
    const tmp = join(this.tmpDir, newId());
    const file = await open(tmp, 'wx');
    const chunks = body instanceof Readable ? body.iterator({ destroyOnReturn: false }) : body[Symbol.asyncIterator]();
    const head = new HeadCheck(declared);
    const out = new WriteBuffer(file);
    let bytes = 0;
    let finished = false;
    try {
      while (true) {
        const next = await chunks.next();
        if (next.done === true) break;
        const chunk = toBuffer(next.value);
        bytes += chunk.length;
        if (bytes > this.maxBytes) throw new ImageTooLargeError(this.maxBytes);
        head.take(chunk);
        await out.write(chunk);
      }
      finished = true;
      if (bytes === 0) throw new ValidationError("the body is empty: send the image's bytes");
      const image = head.end();
      await out.flush();
      await file.close();
      return await this.keep(tmp, { ...image, bytes }, source);
    } catch (err) {
      // Stop reading a body refused midway (for a body that failed itself, a no-op).
      if (!finished) await chunks.return?.().catch(() => undefined);
      await file.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /** The image's sidecar and file path; null when there is no such upload (or `id` is no upload id). */
  async get(id: string): Promise<{ meta: UploadMeta; path: string } | null> {
    if (!UPLOAD_ID.test(id)) return null;
    const meta = await this.readMeta(id);
    if (meta === null) return null;
    const path = join(this.dir, id);
    // Its sidecar is written first: without the image, the upload never completed.
    if (!(await exists(path))) return null;
    return { meta, path };
  }

  /**
   * The image to serve: its file is opened before its sidecar is read, so a
   * removal meanwhile cannot cut the stream short. The caller reads the stream
   * to its end or destroys it (either closes the file).
   */
  async open(id: string): Promise<{ meta: UploadMeta; stream: Readable } | null> {
    if (!UPLOAD_ID.test(id)) return null;
    let handle: FileHandle;
    try {
      handle = await open(join(this.dir, id), 'r');
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    try {
      const meta = await this.readMeta(id);
      if (meta === null) {
        await handle.close();
        return null;
      }
      return { meta, stream: handle.createReadStream() };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Removes one upload; false when there was none. */
  async remove(id: string): Promise<boolean> {
    if (!UPLOAD_ID.test(id)) return false;
    const meta = await this.readMeta(id);
    const image = join(this.dir, id);
    const had = meta !== null || (await exists(image));
    await this.removeFiles(id, meta === null ? null : hourOf(new Date(meta.created_at)));
    return had;
  }

  /**
   * Retention: removes up to `limit` uploads made in an hour wholly before
   * `before`, oldest hours first, and answers how many; fewer than `limit`
   * means none is left for now. To the hour: one from the last hour before
   * `before` waits for a call after that hour has passed. It walks the hour
   * index, never the whole directory, and reads no sidecar, so a call costs
   * about `limit` removals however many images are kept.
   */
  async removeOlderThan(before: Date, limit: number): Promise<number> {
    const cutoff = hourOf(before);
    const hours = (await listNames(this.indexDir)).filter((h) => HOUR.test(h) && h < cutoff).sort();
    let removed = 0;
    for (const hour of hours) {
      if (removed >= limit) break;
      const bucket = join(this.indexDir, hour);
      const ids = await firstNames(bucket, limit - removed);
      for (const id of ids) {
        if (UPLOAD_ID.test(id)) await this.removeFiles(id, hour);
        else await rm(join(bucket, id), { force: true, recursive: true });
        removed++;
      }
      if (removed < limit) await rmdir(bucket).catch(ignoreGone);
    }
    return removed;
  }

  /**
   * Retention by conversation: up to `limit` uploads indexed in an hour wholly
   * before `before` are looked at; those whose conversation `isGone` are
   * removed, the others are indexed again under `now`'s hour, to be looked at
   * once more when that hour is old (a conversation open for long, or resolved
   * and still kept, keeps its images). Answers how many were removed and how
   * many kept. Reads one sidecar per upload looked at.
   */
  async expireOlderThan(
    before: Date,
    now: Date,
    limit: number,
    isGone: (conversation: string) => Promise<boolean>,
  ): Promise<{ removed: number; kept: number }> {
    const cutoff = hourOf(before);
    const hours = (await listNames(this.indexDir)).filter((h) => HOUR.test(h) && h < cutoff).sort();
    let removed = 0;
    let kept = 0;
    for (const hour of hours) {
      if (removed + kept >= limit) break;
      const bucket = join(this.indexDir, hour);
      for (const id of await firstNames(bucket, limit - removed - kept)) {
        const meta = UPLOAD_ID.test(id) ? await this.readMeta(id) : null;
        if (meta !== null && !(await isGone(meta.conversation))) {
          const later = hourOf(now);
          await mkdir(join(this.indexDir, later), { recursive: true });
          await rename(join(bucket, id), join(this.indexDir, later, id));
          kept++;
          continue;
        }
        if (UPLOAD_ID.test(id)) await this.removeFiles(id, hour);
        else await rm(join(bucket, id), { force: true, recursive: true });
        removed++;
      }
      if (removed + kept < limit) await rmdir(bucket).catch(ignoreGone);
    }
    return { removed, kept };
  }

  /**
   * Temp files of uploads that a crash cut short (they are otherwise removed
   * with their refusal): up to `limit` entries of the temp directory are looked
   * at, and those unchanged since `before` removed. Answers how many.
   */
  async removeAbandoned(before: Date, limit: number): Promise<number> {
    let removed = 0;
    for (const name of await firstNames(this.tmpDir, limit)) {
      const path = join(this.tmpDir, name);
      const s = await stat(path).catch(ignoreGone);
      if (s && s.mtime < before) {
        await rm(path, { force: true, recursive: true });
        removed++;
      }
    }
    return removed;
  }

  private async keep(tmp: string, image: Omit<UploadedImage, 'id'>, source: UploadSource): Promise<UploadedImage> {
    const id = newId();
    const hour = hourOf(source.now);
    const meta: UploadMeta = {
      id,
      ...image,
      conversation: source.conversation,
      uploader: source.uploader,
      created_at: source.now.toISOString(),
    };
    try {
      // The sidecar appears whole or not at all: written aside, then renamed.
      const sidecarTmp = `${tmp}.json`;
      await writeFile(sidecarTmp, JSON.stringify(meta), { flag: 'wx' });
      await rename(sidecarTmp, join(this.dir, `${id}.json`));
      await mkdir(join(this.indexDir, hour), { recursive: true });
      await writeFile(join(this.indexDir, hour, id), '');
      await rename(tmp, join(this.dir, id));
    } catch (err) {
      await rm(`${tmp}.json`, { force: true });
      await this.removeFiles(id, hour);
      throw err;
    }
    return { id, type: meta.type, bytes: meta.bytes, width: meta.width, height: meta.height };
  }

  /** Image first, sidecar last: an upload half removed is never served, and its sidecar still names its marker. */
  private async removeFiles(id: string, hour: string | null): Promise<void> {
    await rm(join(this.dir, id), { force: true });
    if (hour !== null) await rm(join(this.indexDir, hour, id), { force: true });
    await rm(join(this.dir, `${id}.json`), { force: true });
  }

  private async readMeta(id: string): Promise<UploadMeta | null> {
    try {
      return JSON.parse(await readFile(join(this.dir, `${id}.json`), 'utf8')) as UploadMeta;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }
}

/**
 * The head of an upload, kept (at most MAX_HEADER_BYTES) until its type is
 * settled and its size known or known to be unknowable. It is sniffed at
 * SNIFF_BYTES, then at each doubling: a JPEG whose frame header lies deep is
 * walked a dozen times at most, however small the chunks.
 */
class HeadCheck {
  private chunks: Buffer[] = [];
  private length = 0;
  private sniffAt = SNIFF_BYTES;
  private result: SniffedImage | null = null;

  constructor(private readonly declared: ImageType) {}

  /** Throws the refusal as soon as the bytes so far show one. */
  take(chunk: Buffer): void {
    if (this.result !== null) return;
    const room = MAX_HEADER_BYTES - this.length;
    // Copied: a source may reuse its buffers.
    this.chunks.push(Buffer.from(chunk.subarray(0, room)));
    this.length += Math.min(chunk.length, room);
    if (this.length >= this.sniffAt) this.sniff(false);
  }

  /** The image, once the whole body is in. */
  end(): Omit<UploadedImage, 'id' | 'bytes'> {
    const r = this.result ?? this.sniff(true);
    if (r === null) throw new NotAnImageError();
    return { type: r.type, width: r.width, height: r.height };
  }

  private sniff(atEnd: boolean): SniffedImage | null {
    const head = Buffer.concat(this.chunks, this.length);
    this.chunks = [head];
    const r = sniffImage(head);
    if (r === null) throw new NotAnImageError();
    if (r.type !== this.declared) throw new ImageTypeMismatchError(this.declared, r.type);
    // A PNG, GIF or WebP of no size, or a JPEG whose bytes end before its frame header, is broken.
    if (r.unknown === 'malformed' || (r.unknown === 'truncated' && atEnd)) throw new NotAnImageError(`the body is a broken ${r.type} image`);
    if (r.unknown === 'truncated') {
      this.sniffAt = Math.min(this.length * 2, MAX_HEADER_BYTES);
      return null;
    }
    this.result = r;
    this.chunks = [];
    return r;
  }
}

/** 16 random bytes, base64url: UPLOAD_ID, which is checked before an id comes near a path. */
function newId(): string {
  return randomBytes(16).toString('base64url');
}

const HOUR = /^\d{4}-\d{2}-\d{2}T\d{2}$/;

/** `2024-05-01T13`: sorts as time does. */
function hourOf(d: Date): string {
  return d.toISOString().slice(0, 13);
}

function toBuffer(chunk: Buffer | Uint8Array | string): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  return typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Chunks gathered into writes of WRITE_BYTES: a body that trickles in small pieces costs no more system calls than any other. */
class WriteBuffer {
  private chunks: Buffer[] = [];
  private length = 0;

  constructor(private readonly file: FileHandle) {}

  async write(chunk: Buffer): Promise<void> {
    // Copied: a source may reuse its buffers.
    this.chunks.push(Buffer.from(chunk));
    this.length += chunk.length;
    if (this.length >= WRITE_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    const data = Buffer.concat(this.chunks, this.length);
    this.chunks = [];
    this.length = 0;
    let at = 0;
    while (at < data.length) {
      const { bytesWritten } = await this.file.write(data, at);
      if (bytesWritten <= 0) throw new Error('the upload could not be written');
      at += bytesWritten;
    }
  }
}

const WRITE_BYTES = 64 * 1024;

/** Up to `n` entry names of a directory, without reading the rest of it; none when it is missing. */
async function firstNames(dir: string, n: number): Promise<string[]> {
  const names: string[] = [];
  if (n <= 0) return names;
  let d;
  try {
    d = await opendir(dir);
  } catch (err) {
    if (isNotFound(err)) return names;
    throw err;
  }
  try {
    let entry: Dirent | null;
    while (names.length < n && (entry = await d.read()) !== null) names.push(entry.name);
  } finally {
    await d.close();
  }
  return names;
}

/** The hour buckets: one per hour that still holds uploads, so about retention / 1 h of them. */
async function listNames(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(ignoreGone)) !== undefined;
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: string }).code === 'ENOENT';
}

function ignoreGone(err: unknown): undefined {
  const code = (err as { code?: string }).code;
  // ENOTEMPTY (EEXIST on some systems): an hour that took an upload meanwhile keeps its bucket.
  if (code === 'ENOENT' || code === 'ENOTEMPTY' || code === 'EEXIST') return undefined;
  throw err;
}
