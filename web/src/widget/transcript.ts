// The conversation on screen: its messages in seq order, each once, whether it
// came from the history (HTTP, newest first), live (chat.message) or both; the
// visitor's sends not yet confirmed under them ("Sending…"), replaced by their
// echo (same client_id), never shown twice; the agent's receipt on the
// visitor's last message; "Load earlier" while older messages exist.
//
// The messages are in a role="log" (a screen reader reads what is added); the
// pending sends are outside it, so that a message is announced once, when it is
// confirmed.
import { h, shortTime } from '../lib/dom.js';
import type { ChatMessage } from '../lib/records.js';
import type { AgentNames } from './agent-names.js';
import type { Receipt } from './memory.js';

export interface TranscriptDeps {
  me(): string | undefined;
  names: AgentNames;
  /** A blob: URL for an uploaded image (its route needs the token). */
  image(id: string): Promise<string>;
  /** The "Load earlier" button: older than this seq. */
  loadEarlier(before: number): void;
}

interface Shown {
  m: ChatMessage;
  el: HTMLElement;
}

interface Pending {
  el: HTMLElement;
  status: HTMLElement;
  /** A local picture of an image being sent: its echo shows it without fetching it back. */
  preview?: string;
}

/** How near the bottom (px) still counts as "reading the newest". */
const STICK_PX = 48;

export class Transcript {
  /** The scrolling area. */
  readonly el: HTMLDivElement;
  conversation: string | undefined;
  private readonly log: HTMLDivElement;
  private readonly pendingBox: HTMLDivElement;
  private readonly earlier: HTMLButtonElement;
  private readonly receiptEl = h('span', { class: 'receipt' });
  private readonly shown = new Map<number, Shown>();
  private readonly pending = new Map<string, Pending>();
  private readonly previews = new Map<string, string>();
  private receipt: Receipt = { delivered: 0, read: 0 };
  /** The visitor is at the bottom: new messages keep them there. */
  private stick = true;

  constructor(private readonly deps: TranscriptDeps) {
    this.earlier = h('button', { type: 'button', class: 'secondary load-earlier', hidden: true, onclick: () => this.deps.loadEarlier(this.oldest()) }, 'Load earlier messages');
    this.log = h('div', { class: 'messages', attrs: { role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages' } });
    this.pendingBox = h('div', { class: 'messages' });
    // Focusable, so that it scrolls by keyboard too.
    this.el = h('div', { class: 'transcript', tabIndex: 0, attrs: { role: 'region', 'aria-label': 'Conversation' } }, this.earlier, this.log, this.pendingBox);
    this.el.addEventListener('scroll', () => {
      this.stick = this.el.scrollHeight - this.el.scrollTop - this.el.clientHeight < STICK_PX;
    });
  }

  /** Another conversation (or none): its messages replace these; the pending sends stay. */
  reset(conversation: string | undefined, receipt: Receipt = { delivered: 0, read: 0 }): void {
    this.conversation = conversation;
    this.shown.clear();
    this.log.replaceChildren();
    this.receipt = receipt;
    this.earlier.hidden = true;
  }

  /** Adds messages of the current conversation; those already shown change nothing. Returns the new ones. */
  add(messages: ChatMessage[]): ChatMessage[] {
    const fresh = messages
      .filter((m) => m.conversation === this.conversation && !this.shown.has(m.seq))
      .sort((a, b) => a.seq - b.seq)
      .filter((m, i, all) => i === 0 || all[i - 1]!.seq !== m.seq);
    if (fresh.length === 0) return [];
    const wasEmpty = this.shown.size === 0;
    const olderPage = !wasEmpty && fresh[fresh.length - 1]!.seq < this.oldest();
    const fromBottom = this.el.scrollHeight - this.el.scrollTop;
    let mine = false;
    for (const m of fresh) {
      const p = m.client_id === null ? undefined : this.pending.get(m.client_id);
      if (p && m.from === this.deps.me()) {
        p.el.remove();
        this.pending.delete(m.client_id!);
        if (p.preview !== undefined && m.image !== null) this.previews.set(m.image, p.preview);
        mine = true;
      }
      // A reply says its sender read all before it (the server moves their receipt so, and tells no one).
      if (m.kind !== 'system' && m.from !== this.deps.me()) this.receipt = { delivered: Math.max(this.receipt.delivered, m.seq), read: Math.max(this.receipt.read, m.seq) };
      const el = this.render(m);
      el.dataset.seq = String(m.seq);
      this.insert(m.seq, el);
      this.shown.set(m.seq, { m, el });
    }
    this.showReceipt();
    this.earlier.hidden = this.oldest() <= 1;
    if (olderPage) this.el.scrollTop = this.el.scrollHeight - fromBottom;
    else if (wasEmpty || mine || this.stick) this.toEnd();
    return fresh;
  }

  messages(): ChatMessage[] {
    return [...this.shown.values()].map((s) => s.m);
  }

  oldest(): number {
    let min = Infinity;
    for (const seq of this.shown.keys()) min = Math.min(min, seq);
    return min;
  }

  newest(): number {
    let max = 0;
    for (const seq of this.shown.keys()) max = Math.max(max, seq);
    return max;
  }

  /** Whether older messages are being fetched (the button waits meanwhile). */
  loadingEarlier(busy: boolean): void {
    this.earlier.disabled = busy;
    this.earlier.textContent = busy ? 'Loading…' : 'Load earlier messages';
  }

  /** A send on its way: shown at once, as "Sending…". */
  addPending(clientId: string, content: { text: string } | { preview: string }): void {
    const status = h('span', { class: 'status' }, 'Sending…');
    const bubble = 'text' in content ? h('div', { class: 'bubble' }, content.text) : h('div', { class: 'bubble image' }, h('img', { src: content.preview, alt: 'Your image' }));
    const el = h('div', { class: 'msg mine pending' }, bubble, h('div', { class: 'meta' }, status));
    this.pending.set(clientId, { el, status, ...('preview' in content && { preview: content.preview }) });
    this.pendingBox.append(el);
    this.toEnd();
  }

  /** A pending send's state in words ("Uploading…", "Not sent: …"). */
  pendingStatus(clientId: string, text: string, failed = false): void {
    const p = this.pending.get(clientId);
    if (!p) return;
    p.status.textContent = text;
    p.el.classList.toggle('failed', failed);
  }

  dropPending(clientId: string): void {
    this.pending.get(clientId)?.el.remove();
    this.pending.delete(clientId);
  }

  /** Moves a pending send under another id (an image: its upload's, then its send's client_id). */
  renamePending(from: string, to: string): void {
    const p = this.pending.get(from);
    if (!p) return;
    this.pending.delete(from);
    this.pending.set(to, p);
  }

  /** The agent's receipt moved. */
  setReceipt(r: Receipt): void {
    this.receipt = { delivered: Math.max(this.receipt.delivered, r.delivered), read: Math.max(this.receipt.read, r.read) };
    this.showReceipt();
  }

  toEnd(): void {
    this.el.scrollTop = this.el.scrollHeight;
    this.stick = true;
  }

  private insert(seq: number, el: HTMLElement): void {
    // Mostly at the end (live) or at the start (a page of history): scan from the end.
    let before: Element | null = null;
    for (let c = this.log.lastElementChild; c; c = c.previousElementSibling) {
      if (Number((c as HTMLElement).dataset.seq) < seq) break;
      before = c;
    }
    this.log.insertBefore(el, before);
  }

  /** "Sent", "Delivered" or "Read" under the visitor's last message. */
  private showReceipt(): void {
    const me = this.deps.me();
    let last: Shown | undefined;
    for (const s of this.shown.values()) {
      if (s.m.from === me && s.m.kind !== 'system' && (!last || s.m.seq > last.m.seq)) last = s;
    }
    if (!last) {
      this.receiptEl.remove();
      return;
    }
    const seq = last.m.seq;
    this.receiptEl.textContent = this.receipt.read >= seq ? 'Read' : this.receipt.delivered >= seq ? 'Delivered' : 'Sent';
    last.el.querySelector('.meta')?.append(this.receiptEl);
  }

  private render(m: ChatMessage): HTMLElement {
    if (m.kind === 'system') return this.systemLine(m);
    const mine = m.from === this.deps.me();
    // Who said it, for a screen reader (the bubbles' side says it to the eye).
    const who = h('span', { class: 'visually-hidden' }, 'You: ');
    if (!mine) this.deps.names.fill(who, m.from, (n) => `${n}: `);
    const bubble = m.kind === 'image' && m.image !== null ? this.imageBubble(m.image, mine) : h('div', { class: 'bubble' }, m.text ?? '');
    const time = h('time', { dateTime: m.created_at }, shortTime(m.created_at));
    return h('div', { class: `msg ${mine ? 'mine' : 'theirs'}` }, who, bubble, h('div', { class: 'meta' }, time));
  }

  private imageBubble(id: string, mine: boolean): HTMLElement {
    const img = h('img', { alt: mine ? 'Your image' : 'An image from the agent' });
    img.addEventListener('load', () => {
      if (this.stick) this.toEnd();
    });
    const preview = this.previews.get(id);
    if (preview !== undefined) img.src = preview;
    else
      this.deps.image(id).then(
        (url) => (img.src = url),
        () => (img.alt = 'The image could not be loaded'),
      );
    return h('div', { class: 'bubble image' }, img);
  }

  private systemLine(m: ChatMessage): HTMLElement {
    const p = h('p', { class: 'sys' });
    switch (m.text) {
      case 'assigned':
        this.deps.names.fill(p, m.from, (n) => `${n} joined`);
        break;
      case 'transferred':
        // Its `from` is the agent it went to, or, back to the queue, the agent it left:
        // the same one as the assignment before it.
        if (this.previousAgent(m.seq) === m.from) p.textContent = 'Transferred: waiting for another agent';
        else this.deps.names.fill(p, m.from, (n) => `Transferred to ${n}`);
        break;
      case 'resolved':
        p.textContent = 'Conversation resolved';
        break;
      case 'reopened':
        p.textContent = 'Conversation reopened';
        break;
      default:
        p.textContent = m.text ?? '';
    }
    return p;
  }

  private previousAgent(seq: number): string | undefined {
    let best: ChatMessage | undefined;
    for (const { m } of this.shown.values()) {
      if (m.kind === 'system' && (m.text === 'assigned' || m.text === 'transferred') && m.seq < seq && (!best || m.seq > best.seq)) best = m;
    }
    return best?.from;
  }
}
