// What the console knows, kept current by what the socket pushes: the agent
// (status, capacity), every conversation it shows (the agent's own, the queue,
// the resolved ones), their messages merged by seq, receipts, typing, the sends
// not yet echoed, and (notifications.ts) the agent's own notifications. The
// views only read it and call its actions; it tells them what changed by
// topic. Nothing here polls:
// HTTP fills what the socket cannot (history pages, the queue at start and after
// a reconnect, the agents' list when it may have changed).
import type { ChatAgentFrame, ErrorFrame, HelloFrame } from '../../../src/client/pmq-client.js';
import { imageUrl } from '../lib/api.js';
import type { AgentSession } from './agent-session.js';
import { errorText, readableError, shortId } from './format.js';
import type { AgentInfo } from './http.js';
import { Notifications } from './notifications.js';
import { ReadMarks } from './read-marks.js';
import type { ChatMessage, Conversation } from '../lib/records.js';

export type AgentStatus = 'online' | 'away' | 'offline';
/** The socket: signed in, trying again, or closed for good (a refused or expired token). */
export type Link = 'connected' | 'reconnecting' | 'closed';

/** One of the agent's sends, from the moment it is written until its echo. */
export interface PendingSend {
  clientId: string;
  text: string | null;
  /** An image being sent: the file (for a retry) and a blob: URL of it to show meanwhile. */
  file: Blob | null;
  preview: string | null;
  stage: 'uploading' | 'sending';
  error: string | null;
}

export interface ConversationState {
  record: Conversation;
  /** By seq; always a run without gaps, from the oldest loaded on. */
  messages: Map<number, ChatMessage>;
  /** A history page came back short: there is nothing older. */
  exhausted: boolean;
  loadingEarlier: boolean;
  /** Bumped by every pushed record: a list fetched meanwhile is older than it. */
  version: number;
  /** The agent's read receipt (what they have seen); the visitor's receipts. */
  readSeq: number;
  visitorDelivered: number;
  visitorRead: number;
  visitorTyping: boolean;
  /**
   * Whether the visitor's receipts are known: PMQ sends them when they move,
   * not at start, so before the first one only what was sent from this page
   * (`sentHere`, by seq) is known to be merely "Sent".
   */
  receiptsKnown: boolean;
  sentHere: Set<number>;
  pending: Map<string, PendingSend>;
}

export type Topic = 'agent' | 'lists' | 'conversation' | 'notice' | 'announce';

/** History per page: the newest on opening, then "Load earlier". */
export const PAGE = 50;
const RESOLVED_PAGE = 20;
const TYPING_SHOWN_MS = 6000;
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

export class ConsoleStore {
  readonly me: string;
  name: string;
  status: AgentStatus;
  link: Link = 'connected';
  capacity: number;
  agents: AgentInfo[];
  readonly conversations = new Map<string, ConversationState>();
  /** Resolved conversations shown, newest first. */
  resolvedIds: string[] = [];
  resolvedLoaded = false;
  resolvedMore = false;
  selected: string | null = null;
  readonly notifications: Notifications;
  /** The last error that belongs to no one control (a refused frame). */
  notice: string | null = null;
  /** The last thing said to screen readers. */
  announcement = '';

  private readonly listeners = new Map<Topic, Set<(id?: string) => void>>();
  private readonly images = new Map<string, Promise<string>>();
  private readonly typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Messages of a conversation not known yet, while its record is fetched. */
  private readonly orphans = new Map<string, ChatMessage[]>();
  private readonly readMarks: ReadMarks;
  private sends = 0;
  private agentsTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly session: AgentSession) {
    this.me = session.uid;
    this.agents = session.agents;
    this.name = this.nameOf(this.me);
    this.status = session.hello.agent.status;
    this.capacity = session.hello.agent.capacity;
    this.readMarks = new ReadMarks(this.me);
    this.notifications = new Notifications(
      session,
      (text) => this.announce(text),
      (err) => this.setNotice(errorText(err)),
    );
    session.attach({
      hello: (h) => this.onHello(h),
      close: (c) => this.onClose(c.willReconnect),
      'chat.conversation': (c) => this.upsert(c, 'push'),
      'chat.message': (m) => this.onMessage(m),
      'chat.receipt': (r) => this.onReceipt(r.conversation, r.by, r.delivered_seq, r.read_seq),
      'chat.typing': (t) => this.onTyping(t.conversation, t.by, t.on),
      'chat.agent': (a) => this.onAgent(a),
      error: (e) => this.onError(e),
      message: (m) => this.notifications.received(m),
      unread: (u) => this.notifications.counts(u),
    });
    document.addEventListener('visibilitychange', () => this.markRead());
  }

  // --- what the views read -------------------------------------------------

  on(topic: Topic, fn: (id?: string) => void): void {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(fn);
  }

  nameOf(uid: string): string {
    return this.agents.find((a) => a.id === uid)?.name ?? uid;
  }

  isMine(c: Conversation): boolean {
    return c.status === 'assigned' && c.agent === this.me;
  }

  /** The agent's open conversations, in the order they came. */
  mine(): ConversationState[] {
    return [...this.conversations.values()]
      .filter((s) => this.isMine(s.record))
      .sort((a, b) => (a.record.assigned_at ?? '').localeCompare(b.record.assigned_at ?? ''));
  }

  /** The queue, longest waiting first. */
  queue(): ConversationState[] {
    return [...this.conversations.values()]
      .filter((s) => s.record.status === 'queued')
      .sort((a, b) => a.record.waiting_since.localeCompare(b.record.waiting_since));
  }

  resolved(): ConversationState[] {
    return this.resolvedIds.map((id) => this.conversations.get(id)).filter((s): s is ConversationState => s?.record.status === 'resolved');
  }

  /** Down to the first message (seq counts from 1, without gaps). */
  hasAllHistory(s: ConversationState): boolean {
    return s.exhausted || s.messages.has(1);
  }

  /** The visitor's messages the agent has not read. */
  unreadOf(s: ConversationState): number {
    let n = 0;
    for (const m of s.messages.values()) if (m.seq > s.readSeq && m.kind !== 'system' && m.from === s.record.visitor) n++;
    return n;
  }

  /** Unread messages may be older than the history loaded: the count is then "at least". */
  unreadMayBeMore(s: ConversationState): boolean {
    if (this.hasAllHistory(s) || s.messages.size === 0) return false;
    return Math.min(...s.messages.keys()) > s.readSeq + 1;
  }

  /** What the visitor did with one of the agent's messages, as far as this page knows. */
  receiptOf(s: ConversationState, seq: number): 'Read' | 'Delivered' | 'Sent' | '' {
    if (seq <= s.visitorRead) return 'Read';
    if (seq <= s.visitorDelivered) return 'Delivered';
    return s.receiptsKnown || s.sentHere.has(seq) ? 'Sent' : '';
  }

  /** Oldest first. */
  messagesOf(s: ConversationState): ChatMessage[] {
    return [...s.messages.values()].sort((a, b) => a.seq - b.seq);
  }

  lastMessage(s: ConversationState): ChatMessage | undefined {
    let last: ChatMessage | undefined;
    for (const m of s.messages.values()) if (last === undefined || m.seq > last.seq) last = m;
    return last;
  }

  /** A blob: URL of a chat image (fetched once, with the token). */
  imageSrc(id: string): Promise<string> {
    let p = this.images.get(id);
    if (!p) {
      p = imageUrl(id, this.session.token);
      this.images.set(id, p);
      p.catch(() => this.images.delete(id));
    }
    return p;
  }

  // --- actions ---------------------------------------------------------------

  select(id: string | null): void {
    const before = this.selected;
    this.selected = id;
    if (before !== null && before !== id) this.forgetIfUnseen(before);
    const s = id === null ? undefined : this.conversations.get(id);
    // A queued conversation's record may be older than its messages (no one is sent those): asked for anyway.
    if (s && s.messages.size === 0) void this.loadNewest(s.record.id);
    this.emit('conversation', id ?? undefined);
    this.emit('lists');
    this.markRead();
  }

  send(conversation: string, text: string): void {
    const s = this.conversations.get(conversation);
    if (!s) return;
    const clientId = this.newClientId();
    s.pending.set(clientId, { clientId, text, file: null, preview: null, stage: 'sending', error: null });
    this.session.client.chat.send({ conversation, text, clientId });
    this.changed(conversation);
  }

  async sendImage(conversation: string, file: Blob, clientId = this.newClientId()): Promise<void> {
    const s = this.conversations.get(conversation);
    if (!s) return;
    const previous = s.pending.get(clientId);
    const p: PendingSend = previous ?? { clientId, text: null, file, preview: URL.createObjectURL(file), stage: 'uploading', error: null };
    p.stage = 'uploading';
    p.error = null;
    s.pending.set(clientId, p);
    this.changed(conversation);
    if (!IMAGE_TYPES.includes(file.type)) {
      p.error = readableError('unsupported_image_type', 'not an image');
      return this.changed(conversation);
    }
    try {
      const image = await this.session.http.upload(conversation, file);
      // The echo shows the same picture: no second download of it.
      if (p.preview !== null) this.images.set(image, Promise.resolve(p.preview));
      p.stage = 'sending';
      this.session.client.chat.send({ conversation, image, clientId });
    } catch (err) {
      p.error = errorText(err);
    }
    this.changed(conversation);
  }

  /** A refused send, again (the same client_id: it can only ever be one message). */
  retry(conversation: string, clientId: string): void {
    const p = this.conversations.get(conversation)?.pending.get(clientId);
    if (!p) return;
    if (p.file !== null) {
      void this.sendImage(conversation, p.file, clientId);
      return;
    }
    p.error = null;
    this.session.client.chat.send({ conversation, text: p.text ?? '', clientId });
    this.changed(conversation);
  }

  dismiss(conversation: string, clientId: string): void {
    const s = this.conversations.get(conversation);
    const p = s?.pending.get(clientId);
    if (!s || !p) return;
    s.pending.delete(clientId);
    if (p.preview !== null) URL.revokeObjectURL(p.preview);
    this.changed(conversation);
  }

  typing(conversation: string, on: boolean): void {
    const s = this.conversations.get(conversation);
    if (s && this.isMine(s.record) && this.session.client.connected) this.session.client.chat.typing(conversation, on);
  }

  async loadEarlier(conversation: string): Promise<void> {
    const s = this.conversations.get(conversation);
    if (!s || this.hasAllHistory(s) || s.loadingEarlier) return;
    const oldest = Math.min(...s.messages.keys());
    s.loadingEarlier = true;
    this.emit('conversation', conversation);
    try {
      const page = await this.session.http.messages(conversation, PAGE, Number.isFinite(oldest) ? oldest : undefined);
      for (const m of page) s.messages.set(m.seq, m);
      s.exhausted = page.length < PAGE;
    } catch (err) {
      this.setNotice(errorText(err));
    } finally {
      s.loadingEarlier = false;
    }
    this.changed(conversation);
  }

  resolve(conversation: string): Promise<unknown> {
    return this.session.http.resolve(conversation);
  }

  /** To an agent (`agent:<id>`), or back to the queue (undefined). */
  transfer(conversation: string, to: string | undefined): Promise<unknown> {
    return this.session.http.transfer(conversation, to);
  }

  /** Online or away: the switch shows what the server then says (`chat.agent`), not what was asked. */
  setStatus(status: 'online' | 'away'): void {
    this.session.client.chat.status(status);
  }

  /** The agent's own status or capacity changed (their switch here or elsewhere, an admin). */
  private onAgent(a: ChatAgentFrame): void {
    if (a.agent !== this.me) return;
    this.name = a.name;
    this.capacity = a.capacity;
    if (this.link === 'connected') this.status = a.status;
    this.emit('agent');
    this.emit('lists');
  }

  /** Once for a burst of changes (a drain hands out several conversations at once). */
  private refreshAgentsSoon(): void {
    this.agentsTimer ??= setTimeout(() => {
      this.agentsTimer = undefined;
      void this.refreshAgents();
    }, 300);
  }

  async refreshAgents(): Promise<void> {
    try {
      this.agents = await this.session.http.agents();
    } catch (err) {
      return this.setNotice(errorText(err));
    }
    const self = this.agents.find((a) => a.id === this.me);
    if (self) {
      this.name = self.name;
      this.capacity = self.capacity;
      if (this.link === 'connected') this.status = self.status;
    }
    this.emit('agent');
    this.emit('lists');
    this.emit('conversation', this.selected ?? undefined);
  }

  async loadResolved(): Promise<void> {
    const last = this.resolved().at(-1)?.record.resolved_at ?? undefined;
    try {
      const page = await this.session.http.conversations({ status: 'resolved', limit: RESOLVED_PAGE, ...(this.resolvedLoaded && last && { before: last }) });
      for (const c of page) {
        this.upsert(c, 'fetch');
        if (!this.resolvedIds.includes(c.id)) this.resolvedIds.push(c.id);
      }
      this.resolvedLoaded = true;
      this.resolvedMore = page.length === RESOLVED_PAGE;
    } catch (err) {
      this.setNotice(errorText(err));
    }
    this.emit('lists');
  }

  setNotice(text: string | null): void {
    this.notice = text;
    this.emit('notice');
  }

  signOutClose(): void {
    this.session.client.close();
  }

  // --- what the socket says -------------------------------------------------

  private onHello(h: HelloFrame): void {
    this.link = 'connected';
    if (h.agent) {
      this.status = h.agent.status;
      this.capacity = h.agent.capacity;
      const held = new Set(h.agent.conversations.map((c) => c.id));
      // Held before the socket dropped, and not now: what happened to it is asked.
      for (const s of this.conversations.values()) {
        if (this.isMine(s.record) && !held.has(s.record.id)) void this.refetchRecord(s.record.id);
      }
      for (const c of h.agent.conversations) {
        this.upsert(c, 'hello');
        void this.loadNewest(c.id);
      }
    }
    void this.loadQueue();
    void this.refreshAgents();
    this.emit('agent');
    this.emit('lists');
    this.markRead();
  }

  private onClose(willReconnect: boolean): void {
    this.link = willReconnect ? 'reconnecting' : 'closed';
    for (const s of this.conversations.values()) s.visitorTyping = false;
    this.emit('agent');
    this.emit('conversation', this.selected ?? undefined);
  }

  /**
   * A record: pushed as it changed, listed in a `hello`, or fetched. A pushed
   * one that makes it the agent's, or no longer theirs, is said aloud.
   */
  private upsert(c: Conversation, source: 'push' | 'hello' | 'fetch'): void {
    let s = this.conversations.get(c.id);
    const wasMine = s !== undefined && this.isMine(s.record);
    if (!s) {
      s = this.newState(c);
      this.conversations.set(c.id, s);
      // What was read and delivered before this page: the list's unread count and the receipts shown.
      if (this.isMine(c)) void this.loadReceipts(c.id);
    } else {
      s.record = c;
    }
    if (source !== 'fetch') s.version++;
    const nowMine = this.isMine(c);
    if (source === 'push' && wasMine !== nowMine) {
      const who = shortId(c.visitor);
      this.announce(
        nowMine
          ? `New conversation from ${who}`
          : c.status === 'resolved'
            ? `Conversation with ${who} resolved`
            : c.status === 'queued'
              ? `Conversation with ${who} back in the queue`
              : `Conversation with ${who} transferred to ${this.nameOf(c.agent ?? '')}`,
      );
      // The loads changed (the agent's and maybe another's): whom one may transfer to too.
      this.refreshAgentsSoon();
    }
    if (c.status === 'resolved' && c.agent === this.me && !this.resolvedIds.includes(c.id)) this.resolvedIds.unshift(c.id);
    const orphans = this.orphans.get(c.id);
    if (orphans) {
      this.orphans.delete(c.id);
      for (const m of orphans) this.addMessage(s, m);
    }
    this.forgetIfUnseen(c.id);
    this.changed(c.id);
  }

  /** A conversation no list shows and no pane has open is not kept. */
  private forgetIfUnseen(id: string): void {
    const s = this.conversations.get(id);
    if (!s || id === this.selected || this.isMine(s.record) || s.record.status === 'queued' || this.resolvedIds.includes(id)) return;
    this.conversations.delete(id);
  }

  private onMessage(m: ChatMessage & { type?: string }): void {
    const { type: _type, ...message } = m;
    const s = this.conversations.get(message.conversation);
    if (!s) {
      const waiting = this.orphans.get(message.conversation);
      if (waiting) return void waiting.push(message);
      this.orphans.set(message.conversation, [message]);
      void this.refetchRecord(message.conversation);
      return;
    }
    this.addMessage(s, message);
    this.changed(s.record.id);
    this.markRead();
  }

  private addMessage(s: ConversationState, m: ChatMessage): void {
    s.messages.set(m.seq, m);
    if (m.from === this.me && m.client_id !== null) {
      const p = s.pending.get(m.client_id);
      if (p) s.sentHere.add(m.seq);
      s.pending.delete(m.client_id);
      // The preview stays for the image's echo when it took it over (imageSrc).
      if (p?.preview != null && m.image === null) URL.revokeObjectURL(p.preview);
    }
    if (m.from === s.record.visitor && m.kind !== 'system') s.visitorTyping = false;
  }

  private onReceipt(conversation: string, by: string, delivered: number, read: number): void {
    const s = this.conversations.get(conversation);
    if (!s) return;
    if (by === this.me) {
      s.readSeq = Math.max(s.readSeq, read);
      this.saveReadSeq(conversation, s.readSeq);
    } else if (by === s.record.visitor) {
      s.receiptsKnown = true;
      s.visitorDelivered = Math.max(s.visitorDelivered, delivered);
      s.visitorRead = Math.max(s.visitorRead, read);
    }
    this.changed(conversation);
  }

  private onTyping(conversation: string, by: string, on: boolean): void {
    const s = this.conversations.get(conversation);
    if (!s || by === this.me) return;
    s.visitorTyping = on;
    clearTimeout(this.typingTimers.get(conversation));
    // A lost "stopped typing" must not leave it shown for ever.
    if (on)
      this.typingTimers.set(
        conversation,
        setTimeout(() => {
          s.visitorTyping = false;
          this.emit('conversation', conversation);
        }, TYPING_SHOWN_MS),
      );
    this.emit('conversation', conversation);
  }

  private onError(e: ErrorFrame): void {
    if (e.ref !== undefined) {
      for (const s of this.conversations.values()) {
        const p = s.pending.get(e.ref);
        if (p) {
          p.error = readableError(e.code, e.message);
          return this.changed(s.record.id);
        }
      }
    }
    this.setNotice(readableError(e.code, e.message));
  }

  // --- helpers ------------------------------------------------------------

  /** The newest page of a conversation's history, merged with what is there. */
  private async loadNewest(id: string): Promise<void> {
    let page: ChatMessage[];
    try {
      page = await this.session.http.messages(id, PAGE);
    } catch (err) {
      return this.setNotice(errorText(err));
    }
    const s = this.conversations.get(id);
    if (!s) return;
    if (page.length > 0) {
      const oldest = Math.min(...page.map((m) => m.seq));
      // Messages older than the page but not joined to it (a long time away): dropped, "Load earlier" brings them back in order.
      if (!s.messages.has(oldest - 1)) for (const seq of s.messages.keys()) if (seq < oldest) s.messages.delete(seq);
      for (const m of page) this.addMessage(s, m);
    }
    s.exhausted = page.length < PAGE;
    this.changed(id);
    this.markRead();
  }

  /** The receipts as they are now; a receipt pushed meanwhile only moves them further. */
  private async loadReceipts(id: string): Promise<void> {
    try {
      const { receipts } = await this.session.http.withReceipts(id);
      for (const r of receipts) this.onReceipt(id, r.by, r.delivered_seq, r.read_seq);
    } catch {
      // Not ours to see any more, or gone: the next push says what it is.
    }
  }

  /** The queue as it is now; records pushed while it was asked are newer and kept. */
  private async loadQueue(): Promise<void> {
    const versions = new Map([...this.conversations].map(([id, s]) => [id, s.version]));
    let queued: Conversation[];
    try {
      queued = await this.session.http.conversations({ status: 'queued', limit: 200 });
    } catch (err) {
      return this.setNotice(errorText(err));
    }
    const listed = new Set(queued.map((c) => c.id));
    for (const c of queued) {
      const s = this.conversations.get(c.id);
      if (s === undefined || s.version === versions.get(c.id)) this.upsert(c, 'fetch');
    }
    // Left the queue while the socket was away, and not pushed since: asked again.
    for (const [id, s] of this.conversations) {
      if (s.record.status === 'queued' && !listed.has(id) && s.version === versions.get(id)) void this.refetchRecord(id);
    }
    this.emit('lists');
  }

  private async refetchRecord(id: string): Promise<void> {
    const version = this.conversations.get(id)?.version;
    try {
      const c = await this.session.http.conversation(id);
      // A record pushed meanwhile is newer than the one fetched.
      if (this.conversations.get(id)?.version === version) this.upsert(c, 'fetch');
    } catch {
      // Not ours to see any more (another agent's now), or gone.
      this.orphans.delete(id);
      if (this.selected !== id) this.conversations.delete(id);
      this.emit('lists');
    }
  }

  /** Sends `chat.read` for the open conversation when the agent can see it. */
  private markRead(): void {
    const id = this.selected;
    const s = id === null ? undefined : this.conversations.get(id);
    if (!s || document.visibilityState !== 'visible' || !this.isMine(s.record) || !this.session.client.connected) return;
    const newest = this.lastMessage(s)?.seq ?? 0;
    if (newest <= s.readSeq) return;
    this.session.client.chat.read(s.record.id, newest);
    s.readSeq = newest;
    this.saveReadSeq(s.record.id, newest);
    this.emit('lists');
  }

  private newState(c: Conversation): ConversationState {
    return {
      record: c,
      messages: new Map(),
      exhausted: false,
      loadingEarlier: false,
      version: 0,
      readSeq: this.readMarks.of(c.id),
      visitorDelivered: 0,
      visitorRead: 0,
      visitorTyping: false,
      receiptsKnown: false,
      sentHere: new Set(),
      pending: new Map(),
    };
  }

  private saveReadSeq(id: string, seq: number): void {
    this.readMarks.set(id, seq, (other) => this.conversations.has(other));
  }

  private newClientId(): string {
    return `c-${Date.now().toString(36)}-${(this.sends++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  }

  private announce(text: string): void {
    this.announcement = text;
    this.emit('announce');
  }

  private changed(id: string): void {
    this.emit('conversation', id);
    this.emit('lists');
  }

  private emit(topic: Topic, id?: string): void {
    for (const fn of this.listeners.get(topic) ?? []) fn(id);
  }
}
