// Writing into a conversation: text (Enter sends, Shift+Enter is a new line),
// images (a file chosen, dropped on the pane or pasted), and the agent's typing
// told to the visitor while they write.
import { h } from '../lib/dom.js';
import type { ConsoleStore } from './console-store.js';

/** "Typing" is said again this often while the agent writes (the server takes 2 a second at most). */
const TYPING_REPEAT_MS = 3000;
/** No key for this long: stopped typing. */
const TYPING_IDLE_MS = 4000;

export class Composer {
  readonly el: HTMLFormElement;
  private readonly text: HTMLTextAreaElement;
  private readonly controls: HTMLButtonElement[];
  private readonly note: HTMLElement;
  private typingSent = 0;
  private idle: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly store: ConsoleStore,
    private readonly id: string,
  ) {
    this.text = h('textarea', { id: 'composer-text', name: 'text', rows: 2, maxLength: 4000, placeholder: 'Write a reply…', attrs: { 'aria-describedby': 'composer-hint' } });
    const file = h('input', { type: 'file', id: 'composer-file', accept: 'image/png,image/jpeg,image/gif,image/webp', hidden: true });
    const attach = h('button', { type: 'button', class: 'secondary' }, 'Attach image');
    const send = h('button', { type: 'submit' }, 'Send');
    this.controls = [attach, send];
    this.note = h('p', { class: 'muted composer-note', hidden: true });
    this.el = h(
      'form',
      { class: 'composer', attrs: { 'aria-label': 'Reply' } },
      h('label', { class: 'visually-hidden', attrs: { for: 'composer-text' } }, 'Message'),
      this.text,
      h('div', { class: 'composer-actions' }, attach, file, send),
      h('p', { id: 'composer-hint', class: 'hint' }, 'Enter sends, Shift+Enter adds a line. Drop or paste an image to send it.'),
      this.note,
    );

    this.el.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.submit();
    });
    this.text.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        this.submit();
      }
    });
    this.text.addEventListener('input', () => this.typed());
    this.text.addEventListener('paste', (ev) => {
      const image = [...(ev.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/'));
      if (image) {
        ev.preventDefault();
        void store.sendImage(id, image);
      }
    });
    attach.addEventListener('click', () => file.click());
    file.addEventListener('change', () => {
      for (const f of file.files ?? []) void store.sendImage(id, f);
      file.value = '';
    });
  }

  /** Images dropped anywhere on `zone` are sent. */
  dropOn(zone: HTMLElement): void {
    zone.addEventListener('dragover', (ev) => {
      if (this.text.disabled || !ev.dataTransfer?.types.includes('Files')) return;
      ev.preventDefault();
      zone.classList.add('dropping');
    });
    zone.addEventListener('dragleave', () => zone.classList.remove('dropping'));
    zone.addEventListener('drop', (ev) => {
      zone.classList.remove('dropping');
      if (this.text.disabled || !ev.dataTransfer?.files.length) return;
      ev.preventDefault();
      for (const f of ev.dataTransfer.files) void this.store.sendImage(this.id, f);
    });
  }

  /** Writing is for the agent who holds the conversation; `why` says why not. */
  enable(on: boolean, why: string): void {
    this.text.disabled = !on;
    for (const c of this.controls) c.disabled = !on;
    this.note.hidden = on;
    this.note.textContent = why;
  }

  focus(): void {
    this.text.focus();
  }

  private submit(): void {
    const text = this.text.value.trim();
    if (text === '' || this.text.disabled) return;
    this.store.send(this.id, text);
    this.text.value = '';
    this.stopTyping();
  }

  private typed(): void {
    clearTimeout(this.idle);
    if (this.text.value.trim() === '') return this.stopTyping();
    const now = Date.now();
    if (now - this.typingSent > TYPING_REPEAT_MS) {
      this.typingSent = now;
      this.store.typing(this.id, true);
    }
    this.idle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  private stopTyping(): void {
    clearTimeout(this.idle);
    if (this.typingSent === 0) return;
    this.typingSent = 0;
    this.store.typing(this.id, false);
  }
}
