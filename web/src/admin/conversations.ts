// Conversations by status: how many wait and how many are with an agent (from
// the stats), the open ones (refreshed with the figures), and the resolved ones,
// newest first, a page at a time (GET /v1/chat/conversations?status=resolved&before=).
import { ApiError } from '../lib/api.js';
import { h, replace, shortTime } from '../lib/dom.js';
import type { AdminApi, AdminStats } from './admin-api.js';
import { count, since } from './format.js';

/** Open conversations listed at most: the longest waiting first. */
const OPEN_LIMIT = 50;
const RESOLVED_PAGE = 20;

export class ConversationsPanel {
  readonly el: HTMLElement;
  private readonly counts = h('p', { class: 'status-counts' }, '…');
  private readonly openBody = h('tbody');
  private readonly openNote = h('p', { class: 'muted' });
  private readonly resolvedBody = h('tbody');
  private readonly resolvedNote = h('p', { class: 'muted' });
  private readonly older = h('button', { type: 'button', class: 'secondary' }, 'Older');
  private readonly reload = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
  /** The oldest resolved_at listed: where the next page begins. */
  private resolvedBefore: string | undefined;

  constructor(
    private readonly api: AdminApi,
    private readonly nameOf: (agent: string) => string | undefined,
  ) {
    this.older.addEventListener('click', () => void this.loadResolved(false));
    this.reload.addEventListener('click', () => void this.loadResolved(true));
    this.el = h(
      'div',
      { class: 'conversations' },
      this.counts,
      h('h3', { id: 'open-title' }, 'Open'),
      h(
        'div',
        { class: 'table-wrap' },
        table('open-title', ['Conversation', 'Visitor', 'Status', 'Agent', 'For', 'Messages'], this.openBody),
      ),
      this.openNote,
      h('div', { class: 'resolved-head' }, h('h3', { id: 'resolved-title' }, 'Resolved'), this.reload),
      h(
        'div',
        { class: 'table-wrap' },
        table('resolved-title', ['Conversation', 'Visitor', 'Agent', 'Resolved', 'Messages'], this.resolvedBody),
      ),
      this.resolvedNote,
      this.older,
    );
  }

  updateCounts(s: AdminStats): void {
    this.counts.textContent = `${count(s.queued)} queued · ${count(s.open_conversations - s.queued)} assigned`;
  }

  async refreshOpen(): Promise<void> {
    const open = await this.api.conversations({ limit: OPEN_LIMIT });
    const now = Date.now();
    replace(
      this.openBody,
      ...open.map((c) =>
        h(
          'tr',
          null,
          cell('Conversation', idCode(c.id)),
          cell('Visitor', c.visitor),
          cell('Status', h('span', { class: `status status-${c.status}` }, c.status)),
          cell('Agent', c.agent === null ? '—' : this.agentName(c.agent)),
          cell('For', c.status === 'assigned' && c.assigned_at !== null ? `${since(c.assigned_at, now)} with the agent` : `${since(c.waiting_since, now)} waiting`),
          cell('Messages', count(c.last_seq)),
        ),
      ),
    );
    this.openNote.textContent =
      open.length === 0 ? 'No open conversation.' : open.length >= OPEN_LIMIT ? `The ${OPEN_LIMIT} that have waited longest.` : '';
  }

  /** The newest page (`fromStart`), or the next older one. */
  async loadResolved(fromStart: boolean): Promise<void> {
    this.older.disabled = true;
    try {
      const page = await this.api.conversations({
        status: 'resolved',
        limit: RESOLVED_PAGE,
        ...(!fromStart && this.resolvedBefore !== undefined && { before: this.resolvedBefore }),
      });
      const rows = page.map((c) =>
        h(
          'tr',
          null,
          cell('Conversation', idCode(c.id)),
          cell('Visitor', c.visitor),
          cell('Agent', c.agent === null ? '—' : this.agentName(c.agent)),
          cell('Resolved', c.resolved_at === null ? '—' : h('time', { dateTime: c.resolved_at }, shortTime(c.resolved_at))),
          cell('Messages', count(c.last_seq)),
        ),
      );
      if (fromStart) replace(this.resolvedBody, ...rows);
      else this.resolvedBody.append(...rows);
      const last = page[page.length - 1];
      if (fromStart || last !== undefined) this.resolvedBefore = last?.resolved_at ?? undefined;
      const shown = this.resolvedBody.children.length;
      this.resolvedNote.textContent = shown === 0 ? 'None resolved in the retention period.' : page.length < RESOLVED_PAGE ? `All ${count(shown)} shown.` : '';
      this.older.hidden = page.length < RESOLVED_PAGE;
    } catch (err) {
      this.resolvedNote.textContent = `The resolved conversations could not be loaded: ${err instanceof ApiError ? err.message : String(err)}`;
    } finally {
      this.older.disabled = false;
    }
  }

  private agentName(agent: string): string {
    const name = this.nameOf(agent);
    return name === undefined ? agent : `${name} (${agent})`;
  }
}

function table(labelledBy: string, columns: string[], body: HTMLTableSectionElement): HTMLTableElement {
  return h(
    'table',
    { attrs: { 'aria-labelledby': labelledBy } },
    h('thead', null, h('tr', null, ...columns.map((c) => h('th', { scope: 'col' }, c)))),
    body,
  );
}

/** A cell that names its column where the table is laid out as cards (phones). */
function cell(label: string, content: Node | string): HTMLTableCellElement {
  return h('td', { attrs: { 'data-label': label } }, content);
}

/** Conversation ids are long: the start tells them apart, the whole is in the title. */
function idCode(id: string): HTMLElement {
  return h('code', { title: id }, id.slice(0, 8));
}
