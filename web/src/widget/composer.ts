// Writing: a text box (Enter sends, Shift+Enter starts a new line), the
// visitor's typing told to the agent (on, refreshed now and then, off when they
// stop), and images from the button, a drop onto the panel, or a paste.
import { h, icon, ICONS } from '../lib/dom.js';
import { IMAGE_TYPES } from './uploads.js';

export interface ComposerDeps {
  sendText(text: string): void;
  sendImage(file: File): void;
  typing(on: boolean): void;
  /** Tells the visitor something about their input (why an image cannot go yet). */
  notice(text: string): void;
}

/** Characters of a message at most (the server's limit). */
const MAX_TEXT = 4000;
/** Typing "on" is said again this often while the visitor goes on typing (the agent's side forgets it). */
const TYPING_REFRESH_MS = 3000;
/** This long without a key, the visitor stopped typing. */
const TYPING_IDLE_MS = 3000;

export class Composer {
  readonly el: HTMLFormElement;
  readonly text: HTMLTextAreaElement;
  private readonly attach: HTMLButtonElement;
  private readonly hint: HTMLSpanElement;
  private imageBlocked: string | null = null;
  private typingOn = false;
  private typingSaidAt = 0;
  private idle: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly deps: ComposerDeps) {
    const file = h('input', { type: 'file', accept: IMAGE_TYPES.join(','), hidden: true, attrs: { 'aria-hidden': 'true', tabindex: -1 } });
    file.addEventListener('change', () => {
      const f = file.files?.[0];
      file.value = '';
      if (f) this.image(f);
    });
    this.hint = h('span', { id: 'image-hint', class: 'visually-hidden' });
    this.attach = h(
      'button',
      { type: 'button', class: 'icon', title: 'Send an image', attrs: { 'aria-label': 'Send an image', 'aria-describedby': 'image-hint' }, onclick: () => (this.imageBlocked ? this.deps.notice(this.imageBlocked) : file.click()) },
      icon(ICONS.clip),
    );
    this.text = h('textarea', { rows: 1, maxLength: MAX_TEXT, placeholder: 'Write a message…', attrs: { 'aria-label': 'Message' } });
    this.text.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.submit();
      }
    });
    this.text.addEventListener('input', () => {
      this.grow();
      this.typed();
    });
    this.text.addEventListener('blur', () => this.stopTyping());
    this.text.addEventListener('paste', (e) => {
      const f = [...(e.clipboardData?.files ?? [])].find((x) => x.type.startsWith('image/'));
      if (!f) return;
      e.preventDefault();
      this.image(f);
    });
    this.el = h('form', { class: 'compose', attrs: { 'aria-label': 'Write a message' } }, this.attach, file, this.hint, this.text, h('button', { type: 'submit' }, 'Send'));
    this.el.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
  }

  /** Images need an open conversation: null when they may go, else why not (said on the button and on a click). */
  blockImages(reason: string | null): void {
    this.imageBlocked = reason;
    this.attach.setAttribute('aria-disabled', String(reason !== null));
    this.attach.title = reason ?? 'Send an image';
    this.hint.textContent = reason ?? '';
  }

  /** Takes drops of image files onto `area`, with `overlay` shown while one hovers. */
  dropTarget(area: HTMLElement, overlay: HTMLElement): void {
    let depth = 0;
    const hasFiles = (e: DragEvent) => e.dataTransfer?.types.includes('Files') ?? false;
    area.addEventListener('dragenter', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth++;
      overlay.hidden = false;
    });
    area.addEventListener('dragover', (e) => {
      if (hasFiles(e)) e.preventDefault();
    });
    area.addEventListener('dragleave', () => {
      if (--depth <= 0) {
        depth = 0;
        overlay.hidden = true;
      }
    });
    area.addEventListener('drop', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      overlay.hidden = true;
      const f = e.dataTransfer?.files[0];
      if (f) this.image(f);
    });
  }

  focus(): void {
    this.text.focus();
  }

  private image(f: File): void {
    if (this.imageBlocked) this.deps.notice(this.imageBlocked);
    else this.deps.sendImage(f);
  }

  private submit(): void {
    const text = this.text.value.trim();
    if (text === '') return;
    this.stopTyping();
    this.deps.sendText(text);
    this.text.value = '';
    this.grow();
  }

  private grow(): void {
    this.text.style.height = 'auto';
    this.text.style.height = `${this.text.scrollHeight + 2}px`;
  }

  private typed(): void {
    if (this.text.value.trim() === '') return this.stopTyping();
    const now = Date.now();
    if (!this.typingOn || now - this.typingSaidAt > TYPING_REFRESH_MS) {
      this.typingOn = true;
      this.typingSaidAt = now;
      this.deps.typing(true);
    }
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  private stopTyping(): void {
    clearTimeout(this.idle);
    if (!this.typingOn) return;
    this.typingOn = false;
    this.deps.typing(false);
  }
}

