// /widget.js: what a site embeds with one tag,
//   <script src="https://pmq.example/widget.js" data-key="<widget key>" async></script>
// (data-token="<user token>" for a signed-in user the site minted a token for).
// It draws the launcher and, on the site's page, holds the visitor's token; the
// chat itself runs in an iframe of PMQ's origin (/widget, frame.ts), which gets
// the token by postMessage. Kept tiny and free of imports: it loads on every
// page view of the site. The page's CSS and CSP are the site's, so everything
// here is styled through el.style, which no policy blocks.
//
// Its exports are window.PMQWidget (the IIFE build names them so).

import type { HostMessage, FrameMessage } from './messages.js';

const script = document.currentScript as HTMLScriptElement | null;
const pmq = script ? new URL(script.src).origin : location.origin;
const widgetKey = script?.dataset.key ?? '';
const siteToken = script?.dataset.token || undefined;
const storageKey = `pmq-widget:${widgetKey}`;
/** A stored token this close to its end is not worth a socket: a new visitor is made instead. */
const EXPIRY_MARGIN_MS = 60_000;
const PHONE = '(max-width: 480px), (max-height: 480px)';

const BUBBLE = 'M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2z';
const CROSS = 'M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z';

let launcher: HTMLButtonElement | undefined;
let icon: SVGPathElement | undefined;
let badge: HTMLSpanElement | undefined;
let frame: HTMLIFrameElement | undefined;
let frameReady = false;
let opened = false;
let openWhenLoaded = false;
let token = siteToken ?? storedToken();
let minting = false;

function storedToken(): string | undefined {
  try {
    const s = JSON.parse(localStorage.getItem(storageKey) ?? 'null') as { token?: string; expires_at?: string } | null;
    if (s?.token && Date.parse(s.expires_at ?? '') - EXPIRY_MARGIN_MS > Date.now()) return s.token;
    localStorage.removeItem(storageKey);
  } catch {
    // storage refused (privacy settings): the visitor is new at each page view
  }
  return undefined;
}

function css(el: HTMLElement, rules: Partial<Record<keyof CSSStyleDeclaration, string>>): void {
  Object.assign(el.style, rules);
}

function post(m: HostMessage): void {
  if (frameReady) frame?.contentWindow?.postMessage(m, pmq);
}

/** An anonymous visitor for this site's widget: only once someone opens the chat. */
async function mint(): Promise<void> {
  if (minting || token) return;
  minting = true;
  try {
    const res = await fetch(`${pmq}/v1/chat/visitors`, { method: 'POST', headers: { authorization: `Bearer ${widgetKey}` } });
    const body = (await res.json().catch(() => ({}))) as { token?: string; expires_at?: string; error?: { message?: string } };
    if (!res.ok || !body.token) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
    token = body.token;
    try {
      localStorage.setItem(storageKey, JSON.stringify({ token, expires_at: body.expires_at }));
    } catch {
      // not kept: a new visitor next time
    }
    post({ pmq: 'token', token });
  } catch (e) {
    post({ pmq: 'unavailable', message: `The chat could not start (${(e as Error).message}).` });
  } finally {
    minting = false;
  }
}

function ensureFrame(): HTMLIFrameElement {
  if (frame) return frame;
  frame = document.createElement('iframe');
  frame.src = `${pmq}/widget`;
  frame.title = 'Chat';
  frame.id = 'pmq-widget-frame';
  css(frame, { position: 'fixed', zIndex: '2147483000', border: '0', margin: '0', padding: '0', background: '#fff', colorScheme: 'light', boxShadow: '0 8px 32px rgba(0,0,0,.25)', display: 'none' });
  document.body.appendChild(frame);
  launcher?.setAttribute('aria-controls', frame.id);
  place();
  return frame;
}

/** A panel in the corner, or the whole screen of a phone. */
function place(): void {
  if (!launcher) return;
  const phone = matchMedia(PHONE).matches;
  if (frame) {
    css(
      frame,
      phone
        ? { top: '0', left: '0', right: 'auto', bottom: 'auto', width: '100%', height: '100%', borderRadius: '0' }
        : { top: 'auto', left: 'auto', right: '20px', bottom: '92px', width: '380px', height: '560px', maxWidth: 'calc(100% - 40px)', maxHeight: 'calc(100% - 112px)', borderRadius: '12px' },
    );
    frame.style.display = opened ? 'block' : 'none';
  }
  launcher.style.display = opened && phone ? 'none' : 'flex';
  icon?.setAttribute('d', opened ? CROSS : BUBBLE);
  launcher.setAttribute('aria-expanded', String(opened));
}

function open(): void {
  if (!launcher) {
    openWhenLoaded = true;
    return;
  }
  opened = true;
  ensureFrame();
  place();
  // Into the panel: the frame then puts the focus on its text box.
  frame?.focus();
  post({ pmq: 'open', open: true });
  if (!token) void mint();
}

function close(refocus = document.activeElement === frame): void {
  if (!launcher || !opened) return;
  opened = false;
  place();
  post({ pmq: 'open', open: false });
  if (refocus) launcher.focus();
}

function setBadge(count: number): void {
  if (!launcher || !badge) return;
  badge.textContent = count > 99 ? '99+' : String(count);
  badge.style.display = count > 0 ? 'block' : 'none';
  launcher.setAttribute('aria-label', count > 0 ? `Open chat, ${count} unread` : 'Open chat');
}

function onFrameMessage(e: MessageEvent): void {
  if (!frame || e.source !== frame.contentWindow || e.origin !== pmq) return;
  const m = e.data as FrameMessage | null;
  switch (m?.pmq) {
    case 'ready':
      frameReady = true;
      post({ pmq: 'open', open: opened });
      if (token) post({ pmq: 'token', token });
      else if (opened) void mint();
      return;
    case 'unread':
      return setBadge(m.count);
    case 'close':
      return close(true);
    case 'expired':
      token = undefined;
      if (siteToken) {
        post({ pmq: 'unavailable', message: 'Your session has ended: reload the page to chat again.' });
        return;
      }
      try {
        localStorage.removeItem(storageKey);
      } catch {
        // nothing was kept
      }
      if (opened) void mint();
      return;
  }
}

function init(): void {
  const button = document.createElement('button');
  button.type = 'button';
  // The site's CSS must not restyle the launcher: start from nothing.
  button.style.all = 'initial';
  css(button, {
    position: 'fixed', right: '20px', bottom: '20px', zIndex: '2147483001', width: '56px', height: '56px', borderRadius: '50%',
    background: '#2357d9', color: '#fff', boxShadow: '0 4px 16px rgba(0,0,0,.3)', cursor: 'pointer',
    display: 'flex', alignItems: 'center', justifyContent: 'center', boxSizing: 'border-box',
  });
  // all: initial took the browser's focus ring away: draw one for the keyboard.
  button.addEventListener('focus', () => css(button, { outline: button.matches(':focus-visible') ? '3px solid #7aa2ff' : 'none', outlineOffset: '2px' }));
  button.addEventListener('blur', () => css(button, { outline: 'none' }));
  button.addEventListener('click', () => (opened ? close(true) : open()));

  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '26');
  svg.setAttribute('height', '26');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  icon = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  icon.setAttribute('fill', 'currentColor');
  svg.appendChild(icon);
  button.appendChild(svg);

  badge = document.createElement('span');
  badge.setAttribute('aria-hidden', 'true');
  badge.style.all = 'initial';
  css(badge, {
    position: 'absolute', top: '-4px', right: '-4px', minWidth: '20px', height: '20px', padding: '0 5px', boxSizing: 'border-box', borderRadius: '10px',
    background: '#b42318', color: '#fff', font: 'bold 12px/20px system-ui, sans-serif', textAlign: 'center', display: 'none',
  });
  button.appendChild(badge);

  launcher = button;
  setBadge(0);
  document.body.appendChild(button);
  place();

  addEventListener('message', onFrameMessage);
  matchMedia(PHONE).addEventListener('change', place);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && opened) close(true);
  });
  // A returning visitor: connect now (hidden), so that the badge counts the replies that came meanwhile.
  if (token) ensureFrame();
  if (openWhenLoaded) open();
}

// After the page: the site's own content comes first.
if (document.readyState === 'complete') init();
else addEventListener('load', init, { once: true });

export { open, close };
