// Adding an agent, or changing one (PUT /v1/admin/agents/:id is both). What the
// server refuses is shown by the field it names (its `field`), the rest above
// the button.
import { ApiError } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { AGENT_PREFIX, agentIdPart, type AdminApi, type Agent } from './admin-api.js';

type FieldName = 'id' | 'name' | 'capacity';

interface Field {
  input: HTMLInputElement;
  error: HTMLElement;
  row: HTMLElement;
}

const DEFAULT_CAPACITY = '5';

export class AgentForm {
  readonly el: HTMLFormElement;
  private readonly fields: Record<FieldName, Field>;
  private readonly formError = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  private readonly status = h('p', { class: 'form-status', attrs: { role: 'status' } });
  private readonly submit = h('button', { type: 'submit' }, 'Save agent');

  constructor(
    private readonly api: AdminApi,
    private readonly onSaved: (agent: Agent) => Promise<void>,
  ) {
    this.fields = {
      id: field(
        'id',
        'Id',
        h('input', { type: 'text', required: true, autocomplete: 'off', spellcheck: false, placeholder: '7' }),
        AGENT_PREFIX,
        'after agent:, e.g. 7 or ann; an existing id changes that agent',
      ),
      name: field('name', 'Name', h('input', { type: 'text', required: true, autocomplete: 'off', maxLength: 100, placeholder: 'Ann' })),
      capacity: field(
        'capacity',
        'Capacity',
        h('input', { type: 'number', required: true, min: '0', step: '1', value: DEFAULT_CAPACITY }),
        undefined,
        'conversations at once',
      ),
    };
    this.el = h(
      'form',
      { class: 'agent-form', attrs: { 'aria-labelledby': 'agent-form-title' } },
      h('h3', { id: 'agent-form-title' }, 'Add or change an agent'),
      h('div', { class: 'fields' }, this.fields.id.row, this.fields.name.row, this.fields.capacity.row),
      this.formError,
      h('div', { class: 'form-actions' }, this.submit, this.status),
    );
    this.el.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.save();
    });
  }

  /** Opens an agent in the form, to rename them. */
  edit(a: Agent): void {
    this.clearErrors();
    this.fields.id.input.value = agentIdPart(a.id);
    this.fields.name.input.value = a.name;
    this.fields.capacity.input.value = String(a.capacity);
    this.el.scrollIntoView({ block: 'nearest' });
    this.fields.name.input.focus();
    this.fields.name.input.select();
  }

  private async save(): Promise<void> {
    this.clearErrors();
    this.status.textContent = '';
    const id = agentIdPart(this.fields.id.input.value.trim());
    const name = this.fields.name.input.value.trim();
    const capacity = Number(this.fields.capacity.input.value);
    this.submit.disabled = true;
    try {
      const agent = await this.api.putAgent(id, { name, capacity });
      this.status.textContent = `Saved ${agent.name} (${agent.id}), capacity ${agent.capacity}.`;
      this.fields.id.input.value = '';
      this.fields.name.input.value = '';
      this.fields.capacity.input.value = DEFAULT_CAPACITY;
      await this.onSaved(agent);
    } catch (err) {
      this.showError(err);
    } finally {
      this.submit.disabled = false;
    }
  }

  private showError(err: unknown): void {
    if (err instanceof ApiError && err.field !== undefined && isField(err.field)) {
      const f = this.fields[err.field];
      f.error.textContent = err.message;
      f.input.setAttribute('aria-invalid', 'true');
      f.input.focus();
      return;
    }
    this.formError.textContent = err instanceof ApiError ? `${err.message} (${err.code})` : String(err);
  }

  private clearErrors(): void {
    this.formError.textContent = '';
    for (const f of Object.values(this.fields)) {
      f.error.textContent = '';
      f.input.removeAttribute('aria-invalid');
    }
  }
}

function isField(name: string): name is FieldName {
  return name === 'id' || name === 'name' || name === 'capacity';
}

function field(name: FieldName, label: string, input: HTMLInputElement, prefix?: string, hint?: string): Field {
  const inputId = `agent-${name}`;
  const errorId = `agent-${name}-error`;
  const hintId = hint === undefined ? undefined : `agent-${name}-hint`;
  input.id = inputId;
  input.name = name;
  input.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
  const error = h('p', { id: errorId, class: 'field-error', attrs: { role: 'alert' } });
  const row = h(
    'div',
    { class: 'field' },
    h('label', { attrs: { for: inputId } }, label),
    h('div', { class: 'field-input' }, prefix === undefined ? null : h('span', { class: 'prefix', attrs: { 'aria-hidden': 'true' } }, prefix), input),
    hintId === undefined ? null : h('p', { id: hintId, class: 'hint' }, hint),
    error,
  );
  return { input, error, row };
}
