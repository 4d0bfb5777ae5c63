// How the console words things: people's ids, waits, PMQ's system lines and
// the errors an agent may meet. No DOM here.
import { ApiError } from '../lib/api.js';

/** A visitor's id short enough for a list: `v:` and 8 characters of it. */
export function shortId(uid: string): string {
  if (uid.startsWith('v:')) return uid.length > 10 ? `${uid.slice(0, 10)}…` : uid;
  return uid.length > 14 ? `${uid.slice(0, 14)}…` : uid;
}

/** "a few seconds", "40 s", "3 min", "1 h 5 min": how long since `iso`. */
export function waitedSince(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (s < 60) return s < 10 ? 'a few seconds' : `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}

/** Names of agents by uid, and who "you" are. */
export interface Names {
  me: string;
  nameOf(uid: string): string;
}

export function personName(names: Names, uid: string): string {
  return uid === names.me ? 'you' : names.nameOf(uid);
}

/**
 * The line of a system message. A "transferred" one names the new agent, or,
 * sent back to the queue, the agent who had it: which one is told by the
 * agent before it (`heldBy`, from the lines above; undefined when those are not
 * loaded).
 */
export function systemLine(event: string | null, from: string, names: Names, heldBy: string | null | undefined): string {
  const who = personName(names, from);
  switch (event) {
    case 'assigned':
      return `Assigned to ${who}`;
    case 'transferred':
      if (heldBy === from) return `${capitalised(who)} put it back in the queue`;
      return heldBy === undefined ? `Transferred (${who})` : `Transferred to ${who}`;
    case 'resolved':
      return from === 'admin' ? 'Resolved by an admin' : `Resolved by ${who}`;
    case 'reopened':
      return 'The visitor reopened the conversation';
    default:
      return event ?? 'System message';
  }
}

function capitalised(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** What an agent can do about an error, in words; PMQ's own message where none is better. */
const READABLE: Record<string, string> = {
  agent_unavailable: 'That agent cannot take it now: they are offline, away or at capacity.',
  not_assigned: 'This conversation is not assigned to anyone any more.',
  not_participant: 'This conversation is no longer yours.',
  conversation_resolved: 'This conversation is resolved.',
  conversation_full: 'This conversation has reached its maximum number of messages.',
  no_conversation: 'This conversation no longer exists.',
  image_too_large: 'That image is too large.',
  unsupported_image_type: 'Only PNG, JPEG, GIF and WebP images can be sent.',
  not_an_image: 'That file is not an image PMQ can send (PNG, JPEG, GIF or WebP).',
  image_type_mismatch: "That image's content does not match its type.",
  rate_limited: 'Too many requests at once: try again in a moment.',
  unavailable: 'PMQ is unavailable for a moment: try again.',
};

export function readableError(code: string, message: string): string {
  const known = READABLE[code];
  return known === undefined ? `${message} (${code})` : `${known} (${code})`;
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return readableError(err.code, err.message);
  if (err instanceof Error) return err.message;
  return String(err);
}
