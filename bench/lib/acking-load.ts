// What the load does with each socket, in bench:push and bench:floor alike: hand
// every message frame to the bench, and ack what arrived in one moment in one
// frame, as the client library does. Only message frames are parsed (an unread
// frame comes with each push).
import type WebSocket from 'ws';

export interface LoadMessage {
  id: string;
  /** Both benches put the time the event was built here. */
  data: { t: number };
}

/** `ack: false` only reads (bench:peers' pmq-noack: fire and forget, as the peers' loads). */
export function ackMessages(ws: WebSocket, onMessage: (m: LoadMessage) => void, ack = true): void {
  let acks: string[] = [];
  ws.on('message', (data) => {
    const text = data.toString();
    if (!text.startsWith('{"type":"message"')) return;
    const frame = JSON.parse(text) as LoadMessage;
    onMessage(frame);
    if (ack && acks.push(frame.id) === 1) {
      setTimeout(() => {
        ws.send(JSON.stringify({ type: 'ack', ids: acks }));
        acks = [];
      }, 0);
    }
  });
}
