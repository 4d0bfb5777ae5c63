// The pages (DESIGN.md, "Pages"): one Vite build of the four HTML entries into
// dist/web, which the api role serves (src/api/routes/pages.ts). The widget's
// loader, /widget.js, is a build of its own (vite.widget.config.ts): a classic
// script other sites embed, self-contained.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/',
  // No public/ folder: everything served is built from src/.
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    // The pages load only their own scripts (CSP script-src 'self'); modern
    // browsers need no preload polyfill.
    modulePreload: { polyfill: false },
    // Every asset a file of its own: nothing inlined where a policy would have to allow it.
    assetsInlineLimit: 0,
    rollupOptions: {
      input: {
        index: here('index.html'),
        console: here('console.html'),
        admin: here('admin.html'),
        widget: here('widget.html'),
      },
    },
  },
});
