// /widget: the visitor's chat panel, inside the iframe the site's loader
// (loader.ts) opens. It gets the visitor's token from the site's page, connects
// the client, and shows the conversation: the agent's name (or the queue while
// waiting), the messages with the history on return, typing, receipts; the
// visitor writes text and sends images. The badge on the site's launcher counts
// the replies not yet read, which this frame tells the page.
import '../lib/base.css';
import './widget.css';
import { PmqClient, type HelloFrame } from '../../../src/client/pmq-client.js';
import type { ChatMessage, Conversation } from '../lib/records.js';
import { ApiError, api, imageUrl, wsUrl } from '../lib/api.js';
import { byId, h, replace } from '../lib/dom.js';
import { AgentNames } from './agent-names.js';
import { Composer } from './composer.js';
import { connectHost } from './host-bridge.js';
import { agentReceipt, lastConversation, queuePlace, readUpTo, type QueuePlace } from './memory.js';
import type { HostMessage } from './messages.js';
import { Transcript } from './transcript.js';
import { uploadErrorText, uploadImage } from './uploads.js';

/** Closes that say the token is no good: the site's page gets another one. */
const TOKEN_REFUSED = new Set([4401, 4402]);
/** The agent's "typing" fades by itself after this long without news (an "off" lost with a socket). */
const TYPING_SHOWN_MS = 8000;
const PAGE = 50;

let token: string | undefined;
const tokenWaiters: ((t: string) => void)[] = [];
let me: string | undefined;
/** The conversation shown, as the server last described it. */
let conv: Conversation | undefined;
let queue: QueuePlace | undefined;
/** The panel is shown on the site's page. */
let panelOpen = false;
/** Seqs that came live (chat.message), as opposed to from the history: the unread count's candidates on a first visit. */
const live = new Set<number>();
let readSent = 0;
let unreadTold = -1;
let typingTimer: ReturnType<typeof setTimeout> | undefined;
let uploads = 0;

const names = new AgentNames(() => token);
const transcript = new Transcript({
  me: () => me,
  names,
  image: (id) => imageUrl(id, token ?? ''),
  loadEarlier: (before) => void loadEarlier(before),
});
const composer = new Composer({
  sendText,
  sendImage: (f) => void sendImage(f),
  typing: (on) => {
    if (conv && conv.status !== 'resolved') client?.chat.typing(conv.id, on);
  },
  notice: say,
});

const title = h('h1', null, 'Chat');
const sub = h('p', { class: 'sub' });
const closeButton = h('button', { type: 'button', class: 'close', attrs: { 'aria-label': 'Close chat' }, onclick: () => bridge?.send({ pmq: 'close' }) }, '×');
const conn = h('p', { class: 'conn', attrs: { role: 'status' } }, 'Connecting…');
const typingLine = h('p', { class: 'typing', attrs: { 'aria-live': 'polite' } });
const alertLine = h('p', { class: 'alert', attrs: { role: 'alert' } });
const dropOverlay = h('div', { class: 'drop', hidden: true }, 'Drop an image to send it');
const panel = h(
  'div',
  { class: 'panel' },
  h('header', { class: 'panel-head' }, h('div', { class: 'who', attrs: { 'aria-live': 'polite' } }, title, sub), closeButton),
  conn,
  transcript.el,
  typingLine,
  alertLine,
  composer.el,
  dropOverlay,
);
replace(byId('app'), panel);
composer.dropTarget(panel, dropOverlay);

const bridge = connectHost(onHost);
const client = bridge ? new PmqClient({ url: wsUrl(), token: currentToken }) : undefined;
if (client) start(client);
else {
  // Opened by hand, not from a site's page: there is no visitor to be.
  closeButton.hidden = true;
  conn.textContent = "This is the panel of a site's chat: it opens from the chat button on the site's pages.";
}
header();

function currentToken(): string | Promise<string> {
  return token ?? new Promise<string>((resolve) => tokenWaiters.push(resolve));
}

function onHost(m: HostMessage): void {
  switch (m.pmq) {
    case 'token':
      token = m.token;
      for (const resolve of tokenWaiters.splice(0)) resolve(m.token);
      return;
    case 'open':
      panelOpen = m.open;
      if (panelOpen) {
        transcript.toEnd();
        composer.focus();
        markRead();
      }
      return;
    case 'unavailable':
      showConn(m.message, true);
      return;
  }
}

function start(c: PmqClient): void {
  c.on('hello', onHello);
  c.on('chat.conversation', (f) => adopt(f));
  c.on('chat.message', onMessage);
  c.on('chat.queue', (q) => {
    if (q.conversation !== transcript.conversation) return;
    queue = { position: q.position, eta: q.eta_seconds };
    queuePlace.set(q.conversation, queue);
    header();
  });
  c.on('chat.receipt', (r) => {
    if (r.by === me || r.conversation !== transcript.conversation) return;
    const receipt = { delivered: r.delivered_seq, read: r.read_seq };
    agentReceipt.set(r.conversation, receipt);
    transcript.setReceipt(receipt);
  });
  c.on('chat.typing', (t) => {
    if (t.by !== me && t.conversation === transcript.conversation) showTyping(t.on ? t.by : undefined);
  });
  c.on('error', (e) => {
    // Refused sends are shown on their bubble; other refusals (a read, typing) the visitor need not hear of.
    if (e.ref !== undefined) transcript.pendingStatus(e.ref, `Not sent: ${e.message}`, true);
  });
  c.on('close', (e) => {
    if (TOKEN_REFUSED.has(e.code)) {
      token = undefined;
      bridge?.send({ pmq: 'expired' });
      showConn('Connecting…');
    } else if (e.willReconnect) showConn('Reconnecting…');
    showTyping(undefined);
  });
  c.connect();
}

function onHello(hello: HelloFrame): void {
  conn.hidden = true;
  if (me !== undefined && me !== hello.uid) {
    // Another visitor (a new token after the old one expired): nothing of the last one's shows.
    conv = undefined;
    transcript.reset(undefined);
    live.clear();
  }
  me = hello.uid;
  if (hello.conversation) adopt(hello.conversation);
  // The open conversation, else the one seen last (resolved since, maybe): its newest page,
  // merged with what comes live. On a reconnect too: it fills what a long absence skipped.
  const id = hello.conversation?.id ?? conv?.id ?? lastConversation.get(me);
  if (id !== undefined) void loadLatest(id, !hello.conversation);
  else header();
  markRead();
}

/** The conversation as the server describes it now; another one than shown replaces it on screen. */
function adopt(c: Conversation): void {
  showConversation(c.id);
  conv = c;
  if (c.status !== 'queued' && queue !== undefined) {
    queue = undefined;
    queuePlace.set(c.id, undefined);
  }
  header();
}

function showConversation(id: string): void {
  if (transcript.conversation === id) return;
  transcript.reset(id, agentReceipt.get(id));
  live.clear();
  readSent = readUpTo.get(id) ?? 0;
  queue = queuePlace.get(id);
  if (me !== undefined) lastConversation.set(me, id);
}

function onMessage(m: ChatMessage): void {
  if (m.conversation !== transcript.conversation) {
    // The visitor's first message opened it (its chat.conversation may come after).
    showConversation(m.conversation);
    if (conv?.id !== m.conversation) void loadLatest(m.conversation, true);
  }
  if (transcript.add([m]).length === 0) return;
  live.add(m.seq);
  if (m.from !== me && m.kind !== 'system') showTyping(undefined);
  countUnread();
  markRead();
}

async function loadLatest(id: string, withRecord: boolean): Promise<void> {
  const credential = token;
  try {
    const { conversation, receipts } = await api<{ conversation: Conversation; receipts: { by: string; delivered_seq: number; read_seq: number }[] }>(
      `/v1/chat/conversations/${encodeURIComponent(id)}`,
      { credential },
    );
    // A frame may have told newer news meanwhile: keep what is newest.
    if (withRecord && (!conv || conv.id !== conversation.id || conversation.last_seq >= conv.last_seq)) adopt(conversation);
    // What the agent had read and received before this page: "Read" on return.
    const theirs = receipts.find((r) => r.by === conversation.agent);
    if (theirs && transcript.conversation === id) {
      const receipt = { delivered: theirs.delivered_seq, read: theirs.read_seq };
      agentReceipt.set(id, receipt);
      transcript.setReceipt(receipt);
    }
    const { messages } = await api<{ messages: ChatMessage[] }>(`/v1/chat/conversations/${encodeURIComponent(id)}/messages?limit=${PAGE}`, { credential });
    transcript.add(messages);
    countUnread();
    markRead();
  } catch (e) {
    if (e instanceof ApiError && (e.status === 403 || e.status === 404)) {
      // Not this visitor's (another one's token), or past its retention: start afresh.
      if (me !== undefined) lastConversation.set(me, undefined);
      if (transcript.conversation === id) {
        conv = undefined;
        transcript.reset(undefined);
        header();
      }
    } else say(`The conversation could not be loaded: ${(e as Error).message}`);
  }
}

async function loadEarlier(before: number): Promise<void> {
  const id = transcript.conversation;
  if (id === undefined) return;
  transcript.loadingEarlier(true);
  try {
    const { messages } = await api<{ messages: ChatMessage[] }>(
      `/v1/chat/conversations/${encodeURIComponent(id)}/messages?limit=${PAGE}&before=${before}`,
      { credential: token },
    );
    transcript.add(messages);
  } catch (e) {
    say(`Earlier messages could not be loaded: ${(e as Error).message}`);
  } finally {
    transcript.loadingEarlier(false);
  }
}

function sendText(text: string): void {
  if (!client) return;
  say('');
  // No conversation named: the server takes the open one, else reopens the last, else starts one.
  const clientId = client.chat.send({ text });
  transcript.addPending(clientId, { text });
}

async function sendImage(file: File): Promise<void> {
  if (!client || !conv) return;
  say('');
  const conversation = conv.id;
  const preview = URL.createObjectURL(file);
  const uploading = `upload-${++uploads}`;
  transcript.addPending(uploading, { preview });
  transcript.pendingStatus(uploading, 'Uploading…');
  try {
    const image = await uploadImage(conversation, file, token);
    const clientId = client.chat.send({ conversation, image });
    transcript.renamePending(uploading, clientId);
    transcript.pendingStatus(clientId, 'Sending…');
  } catch (e) {
    transcript.dropPending(uploading);
    URL.revokeObjectURL(preview);
    say(uploadErrorText(e));
  }
}

/** Reads up to the newest message while the visitor can see the panel. */
function markRead(): void {
  const id = transcript.conversation;
  if (!panelOpen || document.visibilityState !== 'visible' || id === undefined || !client?.connected) return;
  const seq = transcript.newest();
  if (seq <= readSent) return;
  client.chat.read(id, seq);
  readSent = seq;
  readUpTo.set(id, seq);
  countUnread();
}

/** The agent's messages after the visitor's read, for the launcher's badge. */
function countUnread(): void {
  const id = transcript.conversation;
  // Without a read kept from an earlier visit, the history counts as read: only what comes now is new.
  const known = id !== undefined && readUpTo.get(id) !== undefined;
  const count = transcript.messages().filter((m) => m.from !== me && m.kind !== 'system' && m.seq > readSent && (known || live.has(m.seq))).length;
  if (count === unreadTold) return;
  unreadTold = count;
  bridge?.send({ pmq: 'unread', count });
}

function header(): void {
  sub.hidden = false;
  if (!conv) {
    title.textContent = 'Chat with us';
    sub.textContent = 'Write your question: an agent will answer here.';
  } else if (conv.status === 'queued') {
    title.textContent = 'Waiting for an agent';
    sub.textContent = queue ? `You are number ${queue.position} in the queue${eta(queue.eta)}` : 'An agent will be with you soon.';
  } else if (conv.agent !== null) {
    names.fill(title, conv.agent);
    sub.textContent = conv.status === 'resolved' ? 'Conversation resolved: write to reopen it.' : 'Support agent';
  } else {
    title.textContent = 'Chat with us';
    sub.textContent = 'Conversation resolved: write to reopen it.';
  }
  composer.blockImages(
    !conv
      ? 'Send a message first: images can be sent once the conversation has started.'
      : conv.status === 'resolved'
        ? 'The conversation is resolved: send a message to reopen it, then the image.'
        : null,
  );
}

function eta(seconds: number | null): string {
  if (seconds === null) return '';
  if (seconds < 60) return ', less than a minute to wait';
  const minutes = Math.round(seconds / 60);
  return `, about ${minutes} minute${minutes === 1 ? '' : 's'} to wait`;
}

function showTyping(by: string | undefined): void {
  clearTimeout(typingTimer);
  if (by === undefined) {
    typingLine.textContent = '';
    return;
  }
  names.fill(typingLine, by, (n) => `${n} is typing…`);
  typingTimer = setTimeout(() => showTyping(undefined), TYPING_SHOWN_MS);
}

function showConn(text: string, failed = false): void {
  conn.textContent = text;
  conn.classList.toggle('failed', failed);
  conn.hidden = false;
}

function say(text: string): void {
  alertLine.textContent = text;
}

addEventListener('keydown', (e) => {
  if (e.key === 'Escape') bridge?.send({ pmq: 'close' });
});
document.addEventListener('visibilitychange', markRead);
