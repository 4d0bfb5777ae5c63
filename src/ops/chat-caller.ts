// Who is calling a chat operation, whatever the front end: an admin (the admin
// key), an agent (`agent:<id>`'s token), or a visitor (any other user's token:
// a site user, or an anonymous `v:` one).
import { isAgentId } from '../chat/participants.js';

export type ChatCaller = { kind: 'admin' } | { kind: 'agent'; uid: string } | { kind: 'visitor'; uid: string };

export function chatCallerOf(uid: string): ChatCaller {
  return isAgentId(uid) ? { kind: 'agent', uid } : { kind: 'visitor', uid };
}

/** The uid written as who did it (a system message's `from`): an admin is `admin`. */
export function actorOf(caller: ChatCaller): string {
  return caller.kind === 'admin' ? 'admin' : caller.uid;
}
