// /widget.js, the loader a site embeds with one script tag: one classic script
// (an IIFE, no imports), so that it runs whatever the embedding page is. It
// draws the launcher and opens the widget's frame (/widget), where the chat runs.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: here('../dist/web'),
    // After the pages' build, into the same folder.
    emptyOutDir: false,
    target: 'es2020',
    lib: {
      entry: here('src/widget/loader.ts'),
      formats: ['iife'],
      name: 'PMQWidget',
      fileName: () => 'widget.js',
    },
  },
});
