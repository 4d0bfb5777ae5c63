// The agents as a table refreshed in place: who is online and how loaded, each
// capacity changed in its row, each removal confirmed by a second press. Rows
// are kept by agent and updated cell by cell, so that a refresh never takes
// away the focus or a capacity being typed.
import { ApiError } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { agentIdPart, type AdminApi, type Agent } from './admin-api.js';
import { count } from './format.js';

export interface AgentsTableDeps {
  api: AdminApi;
  /** Says something to a screen reader (a polite live region). */
  announce(text: string): void;
  /** Reads the state again after an action. */
  refresh(): Promise<void>;
  /** Opens the agent in the add-or-change form (to rename them). */
  edit(agent: Agent): void;
}

/** How long "Really remove?" waits for its second press. */
const CONFIRM_MS = 6000;

class Row {
  readonly tr: HTMLTableRowElement;
  private readonly name = h('td', { attrs: { 'data-label': 'Name' } });
  private readonly status = h('span', { class: 'status' });
  private readonly grace = h('span', { class: 'grace muted' });
  private readonly loadText = h('span', { class: 'load-text' });
  private readonly loadFill = h('span', { class: 'load-fill' });
  private readonly capacity: HTMLInputElement;
  private readonly capacityError: HTMLElement;
  private readonly remove: HTMLButtonElement;
  private armed: ReturnType<typeof setTimeout> | undefined;

  constructor(
    public agent: Agent,
    private readonly deps: AgentsTableDeps,
    onRemoved: (id: string) => void,
  ) {
    const key = agentIdPart(agent.id).replace(/[^A-Za-z0-9_-]/g, '_');
    const errorId = `capacity-error-${key}`;
    this.capacity = h('input', {
      type: 'number',
      min: '0',
      step: '1',
      required: true,
      class: 'capacity-input',
      attrs: { 'aria-describedby': errorId },
    });
    this.capacityError = h('span', { id: errorId, class: 'row-error', attrs: { role: 'alert' } });
    const capacityForm = h(
      'form',
      { class: 'capacity-form' },
      this.capacity,
      h('button', { type: 'submit', class: 'secondary small' }, 'Set'),
      this.capacityError,
    );
    capacityForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.setCapacity();
    });

    this.remove = h('button', { type: 'button', class: 'danger small' }, 'Remove');
    this.remove.addEventListener('click', () => void this.onRemove(onRemoved));
    this.remove.addEventListener('blur', () => this.disarm());
    this.remove.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && this.armed !== undefined) {
        this.disarm();
        this.deps.announce('Not removed');
      }
    });
    const edit = h('button', { type: 'button', class: 'secondary small' }, 'Edit');
    edit.addEventListener('click', () => this.deps.edit(this.agent));

    this.tr = h(
      'tr',
      null,
      this.name,
      h('td', { attrs: { 'data-label': 'Id' } }, h('code', null, agent.id)),
      h('td', { attrs: { 'data-label': 'Status' } }, this.status, this.grace),
      h(
        'td',
        { attrs: { 'data-label': 'Load' } },
        this.loadText,
        h('span', { class: 'load-bar', attrs: { 'aria-hidden': 'true' } }, this.loadFill),
      ),
      h('td', { attrs: { 'data-label': 'Capacity' } }, capacityForm),
      h('td', { class: 'actions', attrs: { 'data-label': 'Actions' } }, edit, this.remove),
    );
    this.capacity.value = String(agent.capacity);
    this.show(agent);
  }

  /** A new reading of the agent; a capacity the admin is typing stays as typed. */
  update(a: Agent): void {
    const editing = document.activeElement === this.capacity || this.capacity.value !== String(this.agent.capacity);
    this.agent = a;
    if (!editing) this.capacity.value = String(a.capacity);
    this.show(a);
  }

  private show(a: Agent): void {
    this.name.textContent = a.name;
    this.status.textContent = a.status;
    this.status.className = `status status-${a.status}`;
    this.grace.textContent = a.in_grace ? ' · disconnected, in grace' : '';
    this.loadText.textContent = `${count(a.load)} / ${count(a.capacity)}`;
    this.loadFill.style.width = `${a.capacity > 0 ? Math.min(100, (a.load / a.capacity) * 100) : 0}%`;
    this.loadFill.classList.toggle('full', a.capacity > 0 && a.load >= a.capacity);
    this.capacity.setAttribute('aria-label', `Capacity of ${a.name}`);
    this.remove.setAttribute('aria-label', this.armed === undefined ? `Remove ${a.name}` : `Really remove ${a.name}? Press again to remove`);
  }

  private async setCapacity(): Promise<void> {
    const capacity = Number(this.capacity.value);
    this.capacityError.textContent = '';
    this.capacity.removeAttribute('aria-invalid');
    try {
      const saved = await this.deps.api.putAgent(agentIdPart(this.agent.id), { name: this.agent.name, capacity });
      this.agent = saved;
      this.capacity.value = String(saved.capacity);
      this.show(saved);
      this.deps.announce(`${saved.name}'s capacity is now ${saved.capacity}`);
      await this.deps.refresh();
    } catch (err) {
      this.capacity.setAttribute('aria-invalid', 'true');
      this.capacityError.textContent = err instanceof ApiError ? err.message : String(err);
    }
  }

  private async onRemove(onRemoved: (id: string) => void): Promise<void> {
    if (this.armed === undefined) {
      // The first press only arms: a removal requeues the agent's conversations.
      this.armed = setTimeout(() => this.disarm(), CONFIRM_MS);
      this.remove.textContent = 'Really remove?';
      this.remove.classList.add('armed');
      this.show(this.agent);
      this.deps.announce(`Press again to remove ${this.agent.name}; their conversations go back to the queue`);
      return;
    }
    this.disarm();
    this.remove.disabled = true;
    try {
      await this.deps.api.deleteAgent(agentIdPart(this.agent.id));
      onRemoved(this.agent.id);
      this.deps.announce(`Removed ${this.agent.name}`);
      await this.deps.refresh();
    } catch (err) {
      this.remove.disabled = false;
      this.deps.announce(`${this.agent.name} was not removed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private disarm(): void {
    if (this.armed === undefined) return;
    clearTimeout(this.armed);
    this.armed = undefined;
    this.remove.textContent = 'Remove';
    this.remove.classList.remove('armed');
    this.show(this.agent);
  }
}

export class AgentsTable {
  readonly el: HTMLElement;
  private readonly rows = new Map<string, Row>();
  private readonly body = h('tbody');
  private readonly empty = h('p', { class: 'muted', hidden: true }, 'No agents yet: add one with the form below.');
  private readonly summary = h('p', { class: 'muted' }, 'Loading…');
  private loaded = false;

  constructor(private readonly deps: AgentsTableDeps) {
    const table = h(
      'table',
      { class: 'agents' },
      h('caption', { class: 'visually-hidden' }, 'Registered agents'),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ...['Name', 'Id', 'Status', 'Load', 'Capacity'].map((c) => h('th', { scope: 'col' }, c)),
          h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
        ),
      ),
      this.body,
    );
    this.el = h('div', null, this.summary, h('div', { class: 'table-wrap' }, table), this.empty);
  }

  /** The name of an agent, for the conversations' list. */
  nameOf(id: string): string | undefined {
    return this.rows.get(id)?.agent.name;
  }

  update(agents: Agent[]): void {
    const sorted = [...agents].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
    const seen = new Set<string>();
    for (const a of sorted) {
      seen.add(a.id);
      const row = this.rows.get(a.id);
      if (row === undefined) {
        this.rows.set(a.id, new Row(a, this.deps, (id) => this.drop(id)));
      } else {
        if (this.loaded && row.agent.status !== a.status) this.deps.announce(`${a.name} is now ${a.status}`);
        row.update(a);
      }
    }
    for (const id of [...this.rows.keys()]) if (!seen.has(id)) this.drop(id);
    // Moving a row would take the focus out of it: only when the order changed.
    const order = sorted.map((a) => this.rows.get(a.id)!.tr);
    if (order.some((tr, i) => this.body.children[i] !== tr)) this.body.append(...order);

    const online = agents.filter((a) => a.status === 'online').length;
    this.summary.textContent = `${count(agents.length)} registered, ${count(online)} online`;
    this.empty.hidden = agents.length > 0;
    this.loaded = true;
  }

  private drop(id: string): void {
    this.rows.get(id)?.tr.remove();
    this.rows.delete(id);
  }
}
