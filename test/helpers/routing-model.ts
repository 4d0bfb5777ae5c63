// The chat's routing rules as plain TypeScript (DESIGN.md, "Conversations and
// routing"), to check the Lua steps against. Ties between agents are at random
// there, so the model does not pick: it says which agents a pick may land on,
// and then takes the pick the real step made.
export type Status = 'online' | 'away' | 'offline';

interface ModelAgent {
  capacity: number;
  status: Status;
  /** When their grace ends (ms), while disconnected; null when connected or offline. */
  graceUntil: number | null;
  /** conversation -> waiting_since */
  held: Map<string, number>;
}

export class RoutingModel {
  readonly agents = new Map<string, ModelAgent>();
  /** conversation -> waiting_since, in queue order once sorted (see queueOrder). */
  readonly queue = new Map<string, number>();
  readonly prefer = new Map<string, string>();

  holderOf(conversation: string): string | undefined {
    for (const [agent, a] of this.agents) if (a.held.has(conversation)) return agent;
    return undefined;
  }

  available(agent: string | null | undefined): boolean {
    if (!agent) return false;
    const a = this.agents.get(agent);
    return a !== undefined && a.status === 'online' && a.graceUntil === null && a.held.size < a.capacity;
  }

  /** Where a pick may land: the preferred agent when available, else any of the least loaded available ones. */
  candidates(preferred: string | null | undefined): string[] {
    if (preferred && this.available(preferred)) return [preferred];
    let least = Infinity;
    let best: string[] = [];
    for (const [agent, a] of this.agents) {
      if (!this.available(agent)) continue;
      if (a.held.size < least) {
        least = a.held.size;
        best = [agent];
      } else if (a.held.size === least) best.push(agent);
    }
    return best;
  }

  /** FIFO by waiting_since; ties as a sorted set orders them, by member. */
  queueOrder(): [string, number][] {
    return [...this.queue].sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  }

  assign(conversation: string, agent: string, since: number): void {
    this.agents.get(agent)!.held.set(conversation, since);
    this.queue.delete(conversation);
    this.prefer.delete(conversation);
  }

  /** Takes a conversation from its holder; its waiting_since, or undefined. */
  unassign(conversation: string): number | undefined {
    for (const a of this.agents.values()) {
      const since = a.held.get(conversation);
      if (since !== undefined) {
        a.held.delete(conversation);
        return since;
      }
    }
    return undefined;
  }

  /** Every held conversation of an agent back to the queue; what went. */
  requeueAll(agent: string): string[] {
    const a = this.agents.get(agent)!;
    const gone = [...a.held.keys()];
    for (const [c, since] of a.held) this.queue.set(c, since);
    a.held.clear();
    return gone;
  }

  /** Whether the queue's head could be assigned now: what a finished drain must leave false. */
  drainable(): boolean {
    const head = this.queueOrder()[0];
    return head !== undefined && this.candidates(this.prefer.get(head[0])).length > 0;
  }
}
