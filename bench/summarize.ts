// Turns the JSON lines of bench runs (bench/sweep.sh, or `npm run -s bench:ingest >> f`)
// into the markdown table of docs/performance.md, one row per run, in file order.
//
//   npx tsx bench/summarize.ts var/bench-sweep.jsonl [more.jsonl ...]
import { readFileSync } from 'node:fs';
import type { BenchResult } from './lib/report.js';

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: npx tsx bench/summarize.ts FILE.jsonl [...]\n');
  process.exit(2);
}

// `label` is not the bench's own: a sweep may add it to tell code variants apart.
const runs: (BenchResult & { label?: string })[] = [];
for (const f of files) {
  for (const line of readFileSync(f, 'utf8').split('\n')) {
    // Anything that is not a result line (a crash's output) is not a run.
    if (!line.startsWith('{')) continue;
    runs.push(JSON.parse(line) as BenchResult & { label?: string });
  }
}

const dash = (x: number | null | undefined) => (x === null || x === undefined ? '–' : String(x));
const rows = [
  '| run | chunk | worker conc. | POST conc. | batch | events/s end to end | events/s accepted | POST p50 ms | p99 ms | max ms | service % core | redis % core | other load % core | service µs/event | redis µs/event | ok |',
  '|:--|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:-:|',
];
for (const r of runs) {
  const pc = r.cpu.percent_of_one_core;
  const ue = r.cpu.us_per_event;
  rows.push(
    `| ${r.label ?? r.git?.commit ?? ''}${r.config.topology === 'split' ? ' (api+worker)' : ''} | ${r.config.ingest_chunk ?? 'default'} | ${r.config.worker_concurrency ?? 'default'} | ${r.config.concurrency} | ${r.config.batch} | ` +
      `**${r.result.events_per_s.toLocaleString('en-US')}** | ${r.result.accepted_events_per_s.toLocaleString('en-US')} | ` +
      `${r.result.latency_ms.p50} | ${r.result.latency_ms.p99} | ${r.result.latency_ms.max} | ` +
      `${dash(pc.service)} | ${dash(pc.redis)} | ${dash(pc.other)} | ${dash(ue.service)} | ${dash(ue.redis)} | ${r.ok ? 'yes' : '**no**'} |`,
  );
}
process.stdout.write(`${rows.join('\n')}\n`);
