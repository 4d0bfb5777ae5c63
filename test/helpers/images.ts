// Small images of known sizes, built byte by byte from their formats' specs, so
// that the tests need no image files and say what each byte is for.
import { crc32, deflateSync } from 'node:zlib';

function u16be(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u16le(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}

function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function u24le(n: number): Buffer {
  const b = Buffer.alloc(3);
  b.writeUIntLE(n, 0, 3);
  return b;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  return Buffer.concat([u32be(data.length), typed, u32be(crc32(typed))]);
}

/** A decodable PNG: 8-bit grey, every row black. */
export function png(width: number, height: number): Buffer {
  const ihdr = Buffer.concat([u32be(width), u32be(height), Buffer.from([8, 0, 0, 0, 0])]);
  // Each row: filter byte 0, then a byte per pixel.
  const raw = Buffer.alloc((width + 1) * height);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A GIF89a of a `width`×`height` screen holding one 1×1 frame (which a screen larger than its frames may). */
export function gif(width: number, height: number): Buffer {
  return Buffer.concat([
    Buffer.from('GIF89a', 'latin1'),
    u16le(width),
    u16le(height),
    // global colour table of 2 entries, black and white
    Buffer.from([0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff]),
    // image descriptor at 0,0, 1×1, then LZW (min code size 2) of one pixel
    Buffer.from([0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00]),
    Buffer.from(';', 'latin1'),
  ]);
}

function riff(chunk: string, data: Buffer): Buffer {
  const padded = data.length % 2 === 1 ? Buffer.concat([data, Buffer.alloc(1)]) : data;
  const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), Buffer.from(chunk, 'latin1'), u32le(data.length), padded]);
  return Buffer.concat([Buffer.from('RIFF', 'latin1'), u32le(body.length), body]);
}

/** Lossy (`VP8 `): a key frame's tag, start code, 14-bit sizes; the partition itself is filler. */
export function webpLossy(width: number, height: number): Buffer {
  const frame = Buffer.concat([Buffer.from([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a]), u16le(width), u16le(height), Buffer.alloc(16)]);
  return riff('VP8 ', frame);
}

/** Lossless (`VP8L`): signature 0x2f, then width-1 and height-1 in 14 bits each, bit-packed. */
export function webpLossless(width: number, height: number): Buffer {
  const bits = ((width - 1) | ((height - 1) << 14)) >>> 0;
  return riff('VP8L', Buffer.concat([Buffer.from([0x2f]), u32le(bits), Buffer.alloc(8)]));
}

/** Extended (`VP8X`): flags, then the canvas' width-1 and height-1 in 24 bits each. */
export function webpExtended(width: number, height: number): Buffer {
  const data = Buffer.concat([Buffer.from([0, 0, 0, 0]), u24le(width - 1), u24le(height - 1)]);
  const vp8x = Buffer.concat([Buffer.from('VP8X', 'latin1'), u32le(data.length), data]);
  const inner = webpLossy(width, height).subarray(12); // its VP8 chunk
  const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), vp8x, inner]);
  return Buffer.concat([Buffer.from('RIFF', 'latin1'), u32le(body.length), body]);
}

function segment(marker: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0xff, marker]), u16be(data.length + 2), data]);
}

export interface JpegOptions {
  /** Bytes of APPn segments (at most 65533 each) before the frame header, as camera metadata would be. */
  metadata?: number;
  /** The SOFn marker: 0xc0 baseline, 0xc2 progressive. */
  sof?: number;
}

/** SOI, JFIF, metadata, DQT, DHT, SOFn (one component), SOS, a few bytes of scan, EOI. */
export function jpeg(width: number, height: number, o: JpegOptions = {}): Buffer {
  const parts = [Buffer.from([0xff, 0xd8]), segment(0xe0, Buffer.from('JFIF\0\x01\x01\0\0\x01\0\x01\0\0', 'latin1'))];
  for (let left = o.metadata ?? 0; left > 0; left -= 65533) {
    parts.push(segment(0xe1, Buffer.alloc(Math.min(left, 65533), 0x45)));
  }
  parts.push(
    segment(0xdb, Buffer.concat([Buffer.from([0]), Buffer.alloc(64, 1)])),
    segment(0xc4, Buffer.concat([Buffer.from([0]), Buffer.alloc(16)])),
    segment(o.sof ?? 0xc0, Buffer.concat([Buffer.from([8]), u16be(height), u16be(width), Buffer.from([1, 1, 0x11, 0])])),
    segment(0xda, Buffer.from([1, 1, 0, 0, 63, 0])),
    Buffer.from([0x12, 0x34, 0xff, 0x00, 0x56]),
    Buffer.from([0xff, 0xd9]),
  );
  return Buffer.concat(parts);
}
