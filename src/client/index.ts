export { CLOSE_OFFLINE, PmqClient } from './pmq-client.js';
export type {
  ClientEvents,
  ErrorFrame,
  HelloFrame,
  MessageFrame,
  NetworkWatch,
  PmqClientOptions,
  Unread,
  WebSocketConstructor,
  WebSocketLike,
} from './pmq-client.js';
