export { PmqClient } from './pmq-client.js';
export type {
  ClientEvents,
  ErrorFrame,
  HelloFrame,
  MessageFrame,
  PmqClientOptions,
  Unread,
  WebSocketConstructor,
  WebSocketLike,
} from './pmq-client.js';
