// What a visitor's browser downloads for the widget, gzipped as a server would
// send it: the loader every page of the site carries (/widget.js), and the frame
// (/widget: its HTML, scripts and styles) loaded when the chat is used. The
// figures are printed for CI's log and the README; the budgets keep the widget
// small (DESIGN.md: "a few tens of KB compressed at most").
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { webDirOf } from '../../src/api/routes/pages.js';

const LOADER_BUDGET = 4 * 1024;
const WIDGET_BUDGET = 40 * 1024;

const root = webDirOf({ webDir: process.env.PMQ_WEB_DIR });
const gz = (file: string) => gzipSync(readFileSync(join(root, file)), { level: 9 }).length;

/** The files an HTML page of the build loads: its scripts, preloads and styles. */
function assetsOf(html: string): string[] {
  const files = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
  return [...new Set(files)];
}

describe('the widget, gzipped', () => {
  it('stays within its budgets', () => {
    const loader = gz('widget.js');
    const frameFiles = ['widget.html', ...assetsOf(readFileSync(join(root, 'widget.html'), 'utf8'))];
    const frame = frameFiles.reduce((sum, f) => sum + gz(f), 0);
    const rows = [['/widget.js (every page)', loader], ...frameFiles.map((f) => [`/${f === 'widget.html' ? 'widget' : f} (frame)`, gz(f)]), ['whole widget', loader + frame]];
    console.log(`widget size, gzip -9:\n${rows.map(([name, n]) => `  ${String(name).padEnd(48)} ${(Number(n) / 1024).toFixed(1)} KB`).join('\n')}`);
    console.log(JSON.stringify({ widget_gzip_bytes: { loader, frame, total: loader + frame } }));
    // The frame has its script: a build that lost it would look small.
    expect(frameFiles.some((f) => f.endsWith('.js'))).toBe(true);
    expect(loader).toBeLessThanOrEqual(LOADER_BUDGET);
    expect(loader + frame).toBeLessThanOrEqual(WIDGET_BUDGET);
  });
});
