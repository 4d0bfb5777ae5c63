// What a chat image is, by its first bytes and never by what the client says
// (DESIGN.md, "Images"): one of four types, told by their magic numbers, and
// its size in pixels when the header carries it, so that a client can lay the
// message out before the image loads. No I/O: store/chat-uploads.ts feeds it the
// head of an upload as it streams in.

export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];

/**
 * Bytes that settle the type of any of the four, and the size of a PNG, GIF or
 * WebP (all within their first 30 bytes). A JPEG's size may need more: see
 * MAX_HEADER_BYTES.
 */
export const SNIFF_BYTES = 32;

/**
 * How far a JPEG's segments are walked for its frame header (SOFn). Camera and
 * phone photos put EXIF (with a thumbnail), ICC profiles and XMP before it, up
 * to 64 KiB each, so the SOF may lie further: such a JPEG is still an image, of
 * a size not known (`unknown: 'too-far'`); the store keeps it with width and
 * height null rather than hold more of every upload in memory.
 */
export const MAX_HEADER_BYTES = 64 * 1024;

/**
 * Why the size is missing: `truncated`, the bytes given end before it (give
 * more, up to MAX_HEADER_BYTES; a whole file that ends there is broken);
 * `malformed`, the header contradicts its format, so no more bytes will help;
 * `too-far`, a JPEG whose frame header is past MAX_HEADER_BYTES.
 */
export type UnknownSize = 'truncated' | 'malformed' | 'too-far';

export type SniffedImage =
  | { type: ImageType; width: number; height: number; unknown?: undefined }
  | { type: ImageType; width: null; height: null; unknown: UnknownSize };

/** The image type a Content-Type names (`image/PNG; x=y` too), or null when none of the four. */
export function imageTypeOf(contentType: string | undefined): ImageType | null {
  const media = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  return IMAGE_TYPES.find((t) => t === media) ?? null;
}

/**
 * The type of the image that begins with `head`, with its size when `head`
 * holds it (as its header gives it: a GIF's screen may say 0); null when `head`
 * begins with none of the four magic numbers (judged on what is given: pass
 * SNIFF_BYTES bytes, or the whole file when it is shorter). Reads at most
 * MAX_HEADER_BYTES of `head`; never throws.
 */
export function sniffImage(head: Buffer): SniffedImage | null {
  if (startsWith(head, PNG_MAGIC)) return png(head);
  if (startsWith(head, JPEG_MAGIC)) return jpeg(head);
  if (startsWith(head, GIF87_MAGIC) || startsWith(head, GIF89_MAGIC)) return gif(head);
  if (startsWith(head, RIFF_MAGIC) && startsWith(head.subarray(8), WEBP_MAGIC)) return webp(head);
  return null;
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
// SOI, then the 0xFF of the next marker: the first two bytes alone are too common in other data.
const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff]);
const GIF87_MAGIC = Buffer.from('GIF87a', 'latin1');
const GIF89_MAGIC = Buffer.from('GIF89a', 'latin1');
const RIFF_MAGIC = Buffer.from('RIFF', 'latin1');
const WEBP_MAGIC = Buffer.from('WEBP', 'latin1');

function startsWith(b: Buffer, magic: Buffer): boolean {
  return b.length >= magic.length && b.compare(magic, 0, magic.length, 0, magic.length) === 0;
}

function sized(type: ImageType, width: number, height: number): SniffedImage {
  return { type, width, height };
}

function unsized(type: ImageType, unknown: UnknownSize): SniffedImage {
  return { type, width: null, height: null, unknown };
}

/** The signature, then the IHDR chunk, which the format requires first: length 13, width, height. */
function png(b: Buffer): SniffedImage {
  if (b.length < 24) return unsized('image/png', 'truncated');
  if (b.readUInt32BE(8) !== 13 || b.toString('latin1', 12, 16) !== 'IHDR') return unsized('image/png', 'malformed');
  const width = b.readUInt32BE(16);
  const height = b.readUInt32BE(20);
  // PNG caps both at 2^31 - 1 and forbids 0.
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) return unsized('image/png', 'malformed');
  return sized('image/png', width, height);
}

/** The logical screen's size, little-endian, right after the signature. */
function gif(b: Buffer): SniffedImage {
  if (b.length < 10) return unsized('image/gif', 'truncated');
  return sized('image/gif', b.readUInt16LE(6), b.readUInt16LE(8));
}

/**
 * RIFF container; the first chunk is one of three (WebP container spec):
 * `VP8 ` (lossy: a key frame's start code, then 14-bit sizes), `VP8L`
 * (lossless: a signature byte, then 14-bit sizes minus one, bit-packed),
 * `VP8X` (extended: 24-bit canvas sizes minus one).
 */
function webp(b: Buffer): SniffedImage {
  if (b.length < 20) return unsized('image/webp', 'truncated');
  const chunk = b.toString('latin1', 12, 16);
  if (chunk === 'VP8 ') {
    if (b.length < 30) return unsized('image/webp', 'truncated');
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return unsized('image/webp', 'malformed');
    return sized('image/webp', b.readUInt16LE(26) & 0x3fff, b.readUInt16LE(28) & 0x3fff);
  }
  if (chunk === 'VP8L') {
    if (b.length < 25) return unsized('image/webp', 'truncated');
    if (b[20] !== 0x2f) return unsized('image/webp', 'malformed');
    const bits = b.readUInt32LE(21);
    return sized('image/webp', (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  if (chunk === 'VP8X') {
    if (b.length < 30) return unsized('image/webp', 'truncated');
    return sized('image/webp', b.readUIntLE(24, 3) + 1, b.readUIntLE(27, 3) + 1);
  }
  return unsized('image/webp', 'malformed');
}

/**
 * Walks the marker segments from the SOI to the first frame header (SOFn:
 * precision, then height and width, big-endian). Every step moves forward and
 * the walk stops at MAX_HEADER_BYTES, so it is bounded whatever the bytes.
 * Reaching the scan (SOS) or the end (EOI) first is malformed: a JPEG's frame
 * header comes before its data.
 */
function jpeg(b: Buffer): SniffedImage {
  const end = Math.min(b.length, MAX_HEADER_BYTES);
  // Out of bytes: more may help, unless the bound is what stopped us.
  const short = () => unsized('image/jpeg', end >= MAX_HEADER_BYTES ? 'too-far' : 'truncated');
  let i = 2;
  while (true) {
    if (i >= end) return short();
    if (b[i] !== 0xff) return unsized('image/jpeg', 'malformed');
    // Any number of 0xFF may pad before a marker.
    while (i < end && b[i] === 0xff) i++;
    if (i >= end) return short();
    const marker = b[i]!;
    i++;
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue; // RSTn, TEM: no length
    if (marker === 0x00 || marker === 0xd8 || marker === 0xd9 || marker === 0xda) return unsized('image/jpeg', 'malformed');
    if (i + 2 > end) return short();
    const length = b.readUInt16BE(i); // counts its own two bytes
    if (length < 2) return unsized('image/jpeg', 'malformed');
    if (isFrameHeader(marker)) {
      if (length < 8) return unsized('image/jpeg', 'malformed');
      if (i + 7 > end) return short();
      return sized('image/jpeg', b.readUInt16BE(i + 5), b.readUInt16BE(i + 3));
    }
    i += length;
  }
}

/** SOF0–SOF15 but for the three markers in that range that are something else: DHT, JPG, DAC. */
function isFrameHeader(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}
