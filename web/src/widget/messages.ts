// What the loader (on the site's page) and the frame (PMQ's origin) say to each
// other by postMessage. Types only: the loader imports nothing at run time.

/** Site's page → frame. */
export type HostMessage =
  | { pmq: 'token'; token: string }
  /** The panel was shown or hidden. */
  | { pmq: 'open'; open: boolean }
  /** No token could be had: the frame says so. */
  | { pmq: 'unavailable'; message: string };

/** Frame → site's page. */
export type FrameMessage =
  /** Listening: the page may send the token. */
  | { pmq: 'ready' }
  /** Replies not yet read, for the launcher's badge. */
  | { pmq: 'unread'; count: number }
  /** The visitor closed the panel from inside it. */
  | { pmq: 'close' }
  /** The token was refused (expired): the page gets another one. */
  | { pmq: 'expired' };
