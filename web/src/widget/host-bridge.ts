// The frame's line to the site's page that embeds it (loader.ts). The page is
// the frame's parent window; its origin is learnt from its first message (only
// the sites of PMQ_WIDGET_ORIGINS may embed /widget: frame-ancestors) and held
// to afterwards, and what the frame says goes to that origin only.
import type { FrameMessage, HostMessage } from './messages.js';

export interface HostBridge {
  send(m: FrameMessage): void;
}

/** Null when the page is not in a frame (opened at /widget by hand). */
export function connectHost(onMessage: (m: HostMessage) => void): HostBridge | null {
  const parent = window.parent;
  if (parent === window) return null;
  // Where the browser tells (Chromium, Safari): the embedding page's own origin.
  const ancestor = location.ancestorOrigins?.[0];
  let hostOrigin: string | undefined;
  addEventListener('message', (e: MessageEvent) => {
    if (e.source !== parent) return;
    if (ancestor !== undefined && e.origin !== ancestor) return;
    if (hostOrigin !== undefined && e.origin !== hostOrigin) return;
    const m = e.data as HostMessage | null;
    if (typeof m?.pmq !== 'string') return;
    hostOrigin = e.origin;
    onMessage(m);
  });
  // Says nothing but "listening": no origin is needed for that.
  const ready: FrameMessage = { pmq: 'ready' };
  parent.postMessage(ready, '*');
  return {
    send: (m) => {
      if (hostOrigin !== undefined) parent.postMessage(m, hostOrigin);
    },
  };
}
