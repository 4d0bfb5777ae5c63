// Agents' names, asked once each (GET /v1/chat/agents/:id with the visitor's
// token): the header, the system lines and each reply name the agent.
import { api } from '../lib/api.js';

const FALLBACK = 'An agent';

export class AgentNames {
  private readonly names = new Map<string, Promise<string>>();
  /** Those already answered: shown at once, not after a flash of "An agent". */
  private readonly known = new Map<string, string>();

  constructor(private readonly credential: () => string | undefined) {}

  /** The name, or "An agent" when it cannot be had (asked again next time). */
  get(id: string): Promise<string> {
    let name = this.names.get(id);
    if (!name) {
      name = api<{ agent: { name: string } }>(`/v1/chat/agents/${encodeURIComponent(id)}`, { credential: this.credential() }).then(
        (r) => {
          this.known.set(id, r.agent.name);
          return r.agent.name;
        },
        () => {
          this.names.delete(id);
          return FALLBACK;
        },
      );
      this.names.set(id, name);
    }
    return name;
  }

  /** Fills `el` with the name when it comes; "An agent" meanwhile. */
  fill(el: HTMLElement, id: string, format: (name: string) => string = (n) => n): void {
    el.textContent = format(this.known.get(id) ?? FALLBACK);
    if (this.known.has(id)) return;
    void this.get(id).then((n) => (el.textContent = format(n)));
  }
}
