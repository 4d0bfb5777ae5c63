// fast-check arbitraries shared by the property tests.
import fc from 'fast-check';

/** Any UTF-16 code unit, so that lone surrogates and control characters come often. */
export const anyText = (maxLength = 30) =>
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)), maxLength });

/** Any JSON value, small and shallow, with `anyText` strings (object keys too). */
export const anyJson = (maxLength = 30): fc.Arbitrary<unknown> =>
  fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      anyText(maxLength),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 3 }),
      fc.dictionary(anyText(maxLength), tie('value'), { maxKeys: 3 }),
    ),
  })).value;
