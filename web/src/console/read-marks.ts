// The agent's read receipts, kept for this tab (as the token is): a reload shows
// the unread counts at once, before the server's receipts of each conversation
// (GET /v1/chat/conversations/:id) come back and move them further.
export class ReadMarks {
  private readonly key: string;

  constructor(agent: string) {
    this.key = `pmq.console.read:${agent}`;
  }

  /** What the agent read of a conversation (0: nothing known). */
  of(conversation: string): number {
    return this.all()[conversation] ?? 0;
  }

  /** Kept: `seq` for `conversation`; only the conversations still `shown`, so that it stays small. */
  set(conversation: string, seq: number, shown: (id: string) => boolean): void {
    const all = this.all();
    all[conversation] = seq;
    for (const id of Object.keys(all)) if (!shown(id)) delete all[id];
    sessionStorage.setItem(this.key, JSON.stringify(all));
  }

  private all(): Record<string, number> {
    try {
      return JSON.parse(sessionStorage.getItem(this.key) ?? '{}') as Record<string, number>;
    } catch {
      return {};
    }
  }
}
