// The node channel's wire form: what a worker publishes is what each gateway
// writes to the sockets, byte for byte, and a payload that is not one is refused.
import { describe, expect, it } from 'vitest';
import { decodeNodeMessage, encodeNodeMessage, UnreadableNodeMessageError, type NodeMessage } from '../../src/protocol/node-message.js';

const frame = (o: object) => JSON.stringify(o);
const decode = (s: string) => decodeNodeMessage(Buffer.from(s));
const asText = (m: NodeMessage<Buffer>) => ({ ...m, users: m.users.map((u) => ({ uid: u.uid, frames: u.frames.map(String) })) });

describe('node channel messages', () => {
  it('carry each user’s frames through unchanged, in order', () => {
    const m: NodeMessage = {
      type: 'deliver',
      sent_at: 1_700_000_000_123,
      users: [
        // a body with a newline, quotes and characters of several UTF-8 lengths
        { uid: 'u:1', frames: [frame({ type: 'message', id: 'a', body: 'line 1\nline "2" – ünïcødé 😀' }), frame({ type: 'unread', total: 1 })] },
        { uid: 'nobody-frames', frames: [] },
        { uid: 'u2', frames: [frame({ type: 'message', id: 'b' })] },
      ],
    };
    const back = asText(decode(encodeNodeMessage(m)));
    expect(back).toEqual(m);
    expect(JSON.parse(back.users[0]!.frames[0]!).body).toBe('line 1\nline "2" – ünïcødé 😀');
  });

  it('carry counts-only messages', () => {
    const m: NodeMessage = { type: 'unread', users: [{ uid: '7', frames: [frame({ type: 'unread', total: 0, counts: {} })] }] };
    expect(asText(decode(encodeNodeMessage(m)))).toEqual(m);
  });

  it('carry chat frames for users', () => {
    const m: NodeMessage = {
      type: 'chat',
      users: [
        { uid: 'v:x', frames: [frame({ type: 'chat.message', text: 'a\nb' }), frame({ type: 'chat.conversation', id: 'c' })] },
        { uid: 'agent:1', frames: [frame({ type: 'chat.message', text: 'a\nb' })] },
      ],
    };
    expect(asText(decode(encodeNodeMessage(m)))).toEqual(m);
  });

  it('refuse what is not one', () => {
    const good = encodeNodeMessage({ type: 'deliver', sent_at: 1, users: [{ uid: 'a', frames: ['{}', '{}'] }] });
    for (const bad of [
      'not json',
      '{"type":"shout","users":[]}',
      '{"type":"deliver","sent_at":1}',
      good.slice(0, good.lastIndexOf('\n')), // a frame short
      `${good}\n{}`, // a frame too many
    ]) {
      expect(() => decode(bad), bad).toThrow(UnreadableNodeMessageError);
    }
  });
});
