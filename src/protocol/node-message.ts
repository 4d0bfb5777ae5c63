// The node-to-node messages: each gateway node listens on its own Redis pub/sub
// channel (gateway/node-channel.ts); workers and the API publish there
// (push/publisher.ts), one message per node and batch.
// One discriminated union, as in Socket.IO's cluster adapter.
//
// The publisher builds each client frame once (a user on two nodes, or with two
// sockets, shares it) and the gateway writes it as it came: no JSON parse and
// stringify of every message on every node. On the wire a node message is a
// JSON header line, then the frames, one per line:
//
//   {"type":"deliver","sent_at":1700000000000,"users":[["42",2],["7",1]]}
//   {"type":"message","id":"c-1",...}        <- user 42, frame 1
//   {"type":"unread","total":3,...}          <- user 42, frame 2
//   {"type":"message","id":"c-2",...}        <- user 7
//
// A frame is JSON.stringify output, which never holds a raw newline.

/** One user's frames, in the order they are written to each of their sockets. */
export interface UserFrames<F> {
  uid: string;
  frames: F[];
}

/**
 * `F` is the frame as built (a string) or as received (a Buffer, a view into the
 * payload: written to the sockets without being decoded).
 */
export type NodeMessage<F = string> =
  /**
   * Messages for users on this node (new, redelivered, or drained from a tier),
   * with their counts where these changed; `sent_at`: when it was published (ms),
   * for the push latency metric.
   */
  | { type: 'deliver'; sent_at: number; users: UserFrames<F>[] }
  /** Counts changed (a read on another device or over HTTP). */
  | { type: 'unread'; users: UserFrames<F>[] }
  /** The chat's frames: messages, conversations, receipts, typing, queue places. */
  | { type: 'chat'; users: UserFrames<F>[] };

type Header =
  | { type: 'deliver'; sent_at: number; users: [string, number][] }
  | { type: 'unread' | 'chat'; users: [string, number][] };

const TYPES: ReadonlySet<string> = new Set(['deliver', 'unread', 'chat']);

const NEWLINE = 0x0a;

export class UnreadableNodeMessageError extends Error {
  readonly code = 'unreadable_node_message';
}

export function encodeNodeMessage(m: NodeMessage<string>): string {
  const users = m.users.map((u): [string, number] => [u.uid, u.frames.length]);
  const header: Header = m.type === 'deliver' ? { type: m.type, sent_at: m.sent_at, users } : { type: m.type, users };
  const lines = [JSON.stringify(header)];
  for (const u of m.users) for (const f of u.frames) lines.push(f);
  return lines.join('\n');
}

/** Reads a payload of encodeNodeMessage; throws UnreadableNodeMessageError if it is not one. */
export function decodeNodeMessage(payload: Buffer): NodeMessage<Buffer> {
  const headerEnd = lineEnd(payload, 0);
  let header: Header;
  try {
    header = JSON.parse(payload.toString('utf8', 0, headerEnd)) as Header;
  } catch {
    throw new UnreadableNodeMessageError('the header is not JSON');
  }
  if (!TYPES.has(header.type) || !Array.isArray(header.users)) {
    throw new UnreadableNodeMessageError(`unknown node message ${JSON.stringify(header.type)}`);
  }
  let pos = headerEnd + 1;
  const users = header.users.map(([uid, count]) => {
    const frames: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      if (pos > payload.length) throw new UnreadableNodeMessageError('fewer frames than the header says');
      const end = lineEnd(payload, pos);
      frames.push(payload.subarray(pos, end));
      pos = end + 1;
    }
    return { uid, frames };
  });
  if (pos <= payload.length) throw new UnreadableNodeMessageError('more frames than the header says');
  return header.type === 'deliver' ? { type: 'deliver', sent_at: header.sent_at, users } : { type: header.type, users };
}

function lineEnd(payload: Buffer, from: number): number {
  const i = payload.indexOf(NEWLINE, from);
  return i === -1 ? payload.length : i;
}
