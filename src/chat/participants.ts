// Who takes part in a chat, by their id (DESIGN.md, "Who"). Agents and anonymous
// visitors are namespaces of their own, never ranges of the site's user ids:
// `agent:<id>` is registered by an admin, `v:<id>` is made by POST /v1/chat/visitors.
// Both are still user ids everywhere else (sockets, notifications, the registry).

export const AGENT_PREFIX = 'agent:';
export const VISITOR_PREFIX = 'v:';

/** What follows `agent:`: user ids are at most 64 characters in all. */
export const AGENT_ID_PART = /^[A-Za-z0-9_.-]{1,58}$/;

export function isAgentId(uid: string): boolean {
  return uid.startsWith(AGENT_PREFIX);
}

export function isVisitorId(uid: string): boolean {
  return uid.startsWith(VISITOR_PREFIX);
}

/** Ids the main site may not mint a token for by itself (POST /v1/tokens checks them). */
export function isReservedId(uid: string): boolean {
  return isAgentId(uid) || isVisitorId(uid);
}

/** `agent:<id>` of the admin API's `:id`. */
export function agentUid(id: string): string {
  return `${AGENT_PREFIX}${id}`;
}
