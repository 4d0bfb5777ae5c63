// cluster-key-slot ships no types: the two functions it exports.
declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot (0..16383) of a key, by its hash tag when it has one. */
  export default function calculateSlot(key: string | Buffer): number;
  /** The slot shared by all keys, or -1 when they do not share one. */
  export function generateMulti(keys: (string | Buffer)[]): number;
}
