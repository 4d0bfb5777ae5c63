// A chat image's type is told by its first bytes, and its size read from its
// header, for the four types PMQ keeps. Whatever the bytes, sniffing never
// throws, never claims a type whose magic number is not there, and never walks
// past its bound.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_HEADER_BYTES, SNIFF_BYTES, imageTypeOf, sniffImage, type ImageType } from '../../src/chat/image-type.js';
import { gif, jpeg, png, webpExtended, webpLossless, webpLossy } from '../helpers/images.js';

const MAGIC: Record<ImageType, Buffer[]> = {
  'image/png': [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
  'image/jpeg': [Buffer.from([0xff, 0xd8, 0xff])],
  'image/gif': [Buffer.from('GIF87a', 'latin1'), Buffer.from('GIF89a', 'latin1')],
  'image/webp': [Buffer.from('RIFF', 'latin1')], // and WEBP at 8, checked apart
};

function hasMagic(b: Buffer, type: ImageType): boolean {
  const head = MAGIC[type].some((m) => b.subarray(0, m.length).equals(m));
  return type === 'image/webp' ? head && b.toString('latin1', 8, 12) === 'WEBP' : head;
}

const SAMPLES: [string, Buffer, ImageType, number, number][] = [
  ['PNG', png(640, 480), 'image/png', 640, 480],
  ['GIF', gif(320, 200), 'image/gif', 320, 200],
  ['WebP, lossy', webpLossy(1024, 768), 'image/webp', 1024, 768],
  ['WebP, lossless', webpLossless(16383, 1), 'image/webp', 16383, 1],
  ['WebP, extended', webpExtended(20000, 3), 'image/webp', 20000, 3],
  ['JPEG, baseline', jpeg(1920, 1080), 'image/jpeg', 1920, 1080],
  ['JPEG, progressive', jpeg(7, 9, { sof: 0xc2 }), 'image/jpeg', 7, 9],
];

describe('sniffImage', () => {
  it.each(SAMPLES)('reads the type and size of a %s', (_name, image, type, width, height) => {
    expect(sniffImage(image)).toEqual({ type, width, height });
  });

  it.each(SAMPLES.filter(([, , type]) => type !== 'image/jpeg'))('needs no more than SNIFF_BYTES for a %s', (_name, image, type, width, height) => {
    expect(sniffImage(image.subarray(0, SNIFF_BYTES))).toEqual({ type, width, height });
  });

  it.each(SAMPLES)('tells a %s cut short from a broken one, at every length', (_name, image, type) => {
    const full = sniffImage(image)!;
    for (let n = 0; n <= image.length; n++) {
      const r = sniffImage(image.subarray(0, n));
      if (r === null) {
        // only before the whole magic number is there
        expect(MAGIC[type].some((m) => n < m.length) || (type === 'image/webp' && n < 12)).toBe(true);
      } else if (r.unknown !== undefined) {
        expect(r).toEqual({ type, width: null, height: null, unknown: 'truncated' });
      } else {
        expect(r).toEqual(full);
      }
    }
  });

  it('walks a JPEG past its metadata to the frame header, within MAX_HEADER_BYTES', () => {
    const photo = jpeg(4032, 3024, { metadata: 60_000 });
    expect(sniffImage(photo)).toEqual({ type: 'image/jpeg', width: 4032, height: 3024 });
    expect(sniffImage(photo.subarray(0, SNIFF_BYTES))).toMatchObject({ type: 'image/jpeg', unknown: 'truncated' });
  });

  it('gives up on a JPEG whose frame header lies past MAX_HEADER_BYTES: an image of unknown size', () => {
    const photo = jpeg(4032, 3024, { metadata: 2 * 65533 });
    expect(sniffImage(photo)).toEqual({ type: 'image/jpeg', width: null, height: null, unknown: 'too-far' });
    expect(sniffImage(photo.subarray(0, MAX_HEADER_BYTES - 1))).toMatchObject({ unknown: 'truncated' });
  });

  it('reads the frame header of the photo, not that of the thumbnail inside its EXIF segment', () => {
    const thumbnail = jpeg(160, 120);
    const exif = Buffer.concat([Buffer.from([0xff, 0xe1]), Buffer.alloc(2), Buffer.from('Exif\0\0', 'latin1'), thumbnail]);
    exif.writeUInt16BE(exif.length - 2, 2);
    const photo = jpeg(4000, 3000);
    const withThumbnail = Buffer.concat([photo.subarray(0, 20), exif, photo.subarray(20)]);
    expect(sniffImage(withThumbnail)).toEqual({ type: 'image/jpeg', width: 4000, height: 3000 });
  });

  it('skips fill bytes and standalone markers, and does not take DHT (0xC4) for a frame header', () => {
    const jfif = jpeg(1, 1).subarray(0, 20); // SOI + APP0
    const dht = Buffer.from([0xff, 0xc4, 0x00, 0x13, 0x00, ...new Array<number>(16).fill(0)]);
    const sof = Buffer.from([0xff, 0xff, 0xff, 0xc1, 0x00, 0x0b, 0x08, 0x00, 0x21, 0x00, 0x2a, 0x01, 0x01, 0x11, 0x00]);
    const rst = Buffer.from([0xff, 0xd3]);
    expect(sniffImage(Buffer.concat([jfif, dht, rst, sof]))).toEqual({ type: 'image/jpeg', width: 42, height: 33 });
  });

  it.each([
    ['a PNG whose first chunk is not IHDR', Buffer.concat([png(1, 1).subarray(0, 12), Buffer.from('IDAT'), Buffer.alloc(12)]), 'image/png'],
    ['a PNG of width 0', (() => { const b = png(1, 1); b.writeUInt32BE(0, 16); return b; })(), 'image/png'],
    ['a WebP whose first chunk is none of the three', Buffer.concat([webpLossy(1, 1).subarray(0, 12), Buffer.from('ALPH'), Buffer.alloc(14)]), 'image/webp'],
    ['a lossy WebP without its start code', (() => { const b = webpLossy(1, 1); b[24] = 0; return b; })(), 'image/webp'],
    ['a lossless WebP without its signature', (() => { const b = webpLossless(1, 1); b[20] = 0; return b; })(), 'image/webp'],
    ['a JPEG with its scan before any frame header', Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02, 0x00]), 'image/jpeg'],
    ['a JPEG that ends before any frame header', Buffer.from([0xff, 0xd8, 0xff, 0xd9]), 'image/jpeg'],
    ['a JPEG with data where a marker belongs', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0x12, 0x34]), 'image/jpeg'],
    ['a JPEG segment of length 1', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01]), 'image/jpeg'],
  ])('calls %s malformed, whatever follows', (_name, bytes, type) => {
    expect(sniffImage(bytes)).toEqual({ type, width: null, height: null, unknown: 'malformed' });
  });

  it.each([
    ['text', Buffer.from('hello, this is not an image at all, just some text')],
    ['a PDF', Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj', 'latin1')],
    ['a WAV (RIFF, not WebP)', Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WAVEfmt '), Buffer.alloc(20)])],
    ['a BMP', Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)])],
    ['JPEG SOI alone', Buffer.from([0xff, 0xd8, 0x00, 0x00])],
    ['GIF of another version', Buffer.from('GIF88a\x01\x00\x01\x00', 'latin1')],
    ['nothing', Buffer.alloc(0)],
  ])('finds no image in %s', (_name, bytes) => {
    expect(sniffImage(bytes)).toBeNull();
  });

  it('never throws, and never names a type whose magic number is not there', () => {
    const magic = fc.constantFrom(Buffer.alloc(0), ...Object.values(MAGIC).flat(), Buffer.from('RIFF\0\0\0\0WEBP', 'latin1'));
    const bytes = fc.tuple(magic, fc.uint8Array({ maxLength: 300 })).map(([m, rest]) => Buffer.concat([m, rest]));
    fc.assert(
      fc.property(bytes, (b) => {
        const r = sniffImage(b);
        if (r === null) return;
        expect(hasMagic(b, r.type)).toBe(true);
        if (r.width === null) expect(['truncated', 'malformed', 'too-far']).toContain(r.unknown);
        else expect(Number.isInteger(r.width) && r.width >= 0 && Number.isInteger(r.height) && r.height >= 0).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('walks any run of JPEG segments within its bound, whatever their lengths', () => {
    // Segments of random markers and lengths, many of them tiny: the walk ends, and never reports past the bound.
    const seg = fc.tuple(fc.integer({ min: 0xc0, max: 0xfe }), fc.integer({ min: 0, max: 300 })).map(([marker, n]) =>
      Buffer.concat([Buffer.from([0xff, marker, (n + 2) >> 8, (n + 2) & 0xff]), Buffer.alloc(n, 0x11)]),
    );
    fc.assert(
      fc.property(fc.array(seg, { minLength: 1, maxLength: 400 }), (segs) => {
        const b = Buffer.concat([Buffer.from([0xff, 0xd8]), ...segs]);
        const r = sniffImage(b);
        expect(r?.type).toBe('image/jpeg');
      }),
      { numRuns: 300 },
    );
  });
});

describe('imageTypeOf', () => {
  it.each([
    ['image/png', 'image/png'],
    ['IMAGE/JPEG', 'image/jpeg'],
    ['image/gif; charset=binary', 'image/gif'],
    [' image/webp ', 'image/webp'],
    ['image/svg+xml', null],
    ['image/pngx', null],
    ['text/plain', null],
    ['', null],
    [undefined, null],
  ])('%j names %j', (header, type) => {
    expect(imageTypeOf(header)).toBe(type);
  });
});
