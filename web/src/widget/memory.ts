// What the frame remembers between visits, in its own localStorage (PMQ's
// origin, kept apart per embedding site by the browser): the visitor's last
// conversation, how far they read it, and what the server told once and will
// not repeat (the agent's last receipt, the queue place). Storage may be
// refused (privacy settings): then the widget simply remembers nothing.

const PREFIX = 'pmq-widget:';

function load<T>(key: string): T | undefined {
  try {
    const v = localStorage.getItem(PREFIX + key);
    return v === null ? undefined : (JSON.parse(v) as T);
  } catch {
    return undefined;
  }
}

function save(key: string, value: unknown): void {
  try {
    if (value === undefined) localStorage.removeItem(PREFIX + key);
    else localStorage.setItem(PREFIX + key, JSON.stringify(value));
  } catch {
    // not kept
  }
}

export interface Receipt {
  delivered: number;
  read: number;
}

export interface QueuePlace {
  position: number;
  eta: number | null;
}

/** A visitor's last conversation (their open one, or the one resolved last). */
export const lastConversation = {
  get: (uid: string) => load<string>(`last:${uid}`),
  set: (uid: string, id: string | undefined) => save(`last:${uid}`, id),
};

/** Per conversation: the visitor's own read seq; the agent's receipt; the queue place. */
export const readUpTo = {
  get: (conversation: string) => load<number>(`read:${conversation}`),
  set: (conversation: string, seq: number) => save(`read:${conversation}`, seq),
};

export const agentReceipt = {
  get: (conversation: string) => load<Receipt>(`receipt:${conversation}`) ?? { delivered: 0, read: 0 },
  set: (conversation: string, r: Receipt) => save(`receipt:${conversation}`, r),
};

export const queuePlace = {
  get: (conversation: string) => load<QueuePlace>(`queue:${conversation}`),
  set: (conversation: string, q: QueuePlace | undefined) => save(`queue:${conversation}`, q),
};
