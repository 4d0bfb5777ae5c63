// The sign-in of the console, the admin page and the front page's demo: a form
// that takes the credential (an agent's or a user's token, minted by the main
// site; the admin key), checks it, and keeps it in this tab's sessionStorage.
// Never in the URL, where a log or the history would keep it. Outside production
// a developer may mint a token for an id from here (POST /v1/dev/tokens, loopback only).
import { api, ApiError } from './api.js';
import { h, replace } from './dom.js';

export interface SignInOptions {
  /** Where the form goes. */
  into: HTMLElement;
  /** The sessionStorage key of the credential. */
  storageKey: string;
  /** "Agent token", "Admin key", ... */
  label: string;
  hint: string;
  /** Throws (an ApiError) when the credential is refused. */
  check: (credential: string) => Promise<void>;
  /** Shown when set: mint a development token for an id such as agent:7. */
  devMint?: { label: string; placeholder: string };
}

/** The stored credential, checked; else the form, until one is accepted. */
export async function signIn(opts: SignInOptions): Promise<string> {
  const stored = sessionStorage.getItem(opts.storageKey);
  if (stored !== null) {
    try {
      await opts.check(stored);
      return stored;
    } catch {
      sessionStorage.removeItem(opts.storageKey);
    }
  }
  return new Promise((resolve) => {
    const error = h('p', { class: 'form-error', attrs: { role: 'alert', 'aria-live': 'assertive' } });
    const accept = async (credential: string) => {
      error.textContent = '';
      try {
        await opts.check(credential);
      } catch (err) {
        error.textContent = err instanceof ApiError ? `${err.message} (${err.code})` : String(err);
        return;
      }
      sessionStorage.setItem(opts.storageKey, credential);
      replace(opts.into);
      resolve(credential);
    };

    const input = h('input', { type: 'password', id: 'credential', name: 'credential', required: true, autocomplete: 'off', spellcheck: false });
    const form = h(
      'form',
      { class: 'sign-in', attrs: { 'aria-labelledby': 'sign-in-title' } },
      h('h2', { id: 'sign-in-title' }, 'Sign in'),
      h('label', { attrs: { for: 'credential' } }, opts.label),
      input,
      h('p', { class: 'hint' }, opts.hint),
      h('button', { type: 'submit' }, 'Sign in'),
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void accept(input.value.trim());
    });

    let dev: HTMLFormElement | null = null;
    if (opts.devMint) {
      const id = h('input', { type: 'text', id: 'dev-uid', name: 'uid', required: true, placeholder: opts.devMint.placeholder, autocomplete: 'off' });
      dev = h(
        'form',
        { class: 'sign-in dev', attrs: { 'aria-label': 'Development sign-in' } },
        h('label', { attrs: { for: 'dev-uid' } }, opts.devMint.label),
        id,
        h('p', { class: 'hint' }, 'Development only: PMQ mints the token itself (refused in production and from other machines).'),
        h('button', { type: 'submit' }, 'Mint and sign in'),
      );
      dev.addEventListener('submit', (ev) => {
        ev.preventDefault();
        void api<{ token: string }>('/v1/dev/tokens', { body: { uid: id.value.trim() } })
          .then((r) => accept(r.token))
          .catch((err: unknown) => {
            error.textContent = err instanceof ApiError ? `${err.message} (${err.code})` : String(err);
          });
      });
    }
    replace(opts.into, form, dev, error);
    input.focus();
  });
}

export function signOut(storageKey: string): void {
  sessionStorage.removeItem(storageKey);
  location.reload();
}
