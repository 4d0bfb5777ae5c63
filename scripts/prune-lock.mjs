// Drops from package-lock.json the optional dependencies that have no entry of
// their own, and says which.
//
// Why: the npm registry this project is built against serves only the Linux
// builds of some platform packages (@msgpackr-extract/*-darwin-*, *-win32-*), so
// `npm install` records the optional dependency but no entry for it, and `npm ci`
// then refuses the lock as out of sync. Those builds are optional: msgpackr falls
// back to plain JavaScript without them. Run after `npm install` changes the lock:
//   node scripts/prune-lock.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const packages = lock.packages;
const pruned = [];
for (const [name, entry] of Object.entries(packages)) {
  const optional = entry.optionalDependencies;
  if (!optional) continue;
  for (const dep of Object.keys(optional)) {
    const nested = `${name}/node_modules/${dep}`;
    if (!(nested in packages) && !(`node_modules/${dep}` in packages)) {
      delete optional[dep];
      pruned.push(`${name || '(root)'} -> ${dep}`);
    }
  }
}
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(pruned.length ? `pruned:\n  ${pruned.join('\n  ')}` : 'nothing to prune');
