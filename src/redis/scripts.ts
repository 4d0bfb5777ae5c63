// Loads lua/*.lua once and gives each script a typed wrapper. The file name says
// the script's name and key count (`read-6.lua`), as in BullMQ, or `-n` where the
// count varies (the caller passes it); each file opens with a comment naming its
// KEYS and ARGV.
import { readFileSync, readdirSync } from 'node:fs';
import type { ChainableCommander, Redis } from 'ioredis';
import { USER_KEY_SUFFIX as S, type Keys, type UserKeys } from './keys.js';

const luaDir = new URL('./lua/', import.meta.url);

interface ScriptFile {
  name: string;
  /** Undefined for a `-n.lua` script: the caller passes the key count first. */
  numberOfKeys: number | undefined;
  lua: string;
}

let cached: ScriptFile[] | undefined;

function scriptFiles(): ScriptFile[] {
  cached ??= readdirSync(luaDir)
    .filter((f) => f.endsWith('.lua'))
    .map((f) => {
      const match = /^(.+)-(\d+|n)\.lua$/.exec(f);
      if (!match) throw new Error(`Lua script ${f} must be named <name>-<key count or n>.lua`);
      const numberOfKeys = match[2] === 'n' ? undefined : Number(match[2]);
      return { name: match[1]!, numberOfKeys, lua: withIncludes(readFileSync(new URL(f, luaDir), 'utf8'), f) };
    });
  // Two files of one name (a stale copy left in dist/ by a rename) would make the
  // key count a matter of directory order.
  const names = cached.map((s) => s.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new Error(`two Lua scripts named ${twice} in ${luaDir.pathname}`);
  return cached;
}

/**
 * Shared Lua, as in BullMQ: a line `--- @include "name"` is replaced by
 * lua/includes/name.lua, so that what several scripts need is written once.
 */
function withIncludes(lua: string, file: string): string {
  return lua.replace(/^--- @include "([a-z0-9-]+)"$/gm, (_, name: string) => {
    try {
      return readFileSync(new URL(`includes/${name}.lua`, luaDir), 'utf8');
    } catch {
      throw new Error(`Lua script ${file} includes "${name}": no lua/includes/${name}.lua`);
    }
  });
}

/** Where a script may run: on a client (one round trip) or queued on a pipeline. */
export type Runner = Redis | ChainableCommander;

function run<T>(runner: Runner, command: string, keys: (string | number)[], args: (string | number)[]): Promise<T> {
  const fn = (runner as unknown as Record<string, (...a: unknown[]) => Promise<T>>)[command];
  if (typeof fn !== 'function') throw new Error(`Lua script ${command} is not defined on this client`);
  return fn.call(runner, ...keys, ...args);
}

/** Registers every script on a client (EVALSHA, with EVAL on NOSCRIPT, by ioredis). */
export function defineScripts(redis: Redis): void {
  for (const s of scriptFiles()) {
    const command = camel(s.name);
    if (typeof (redis as unknown as Record<string, unknown>)[command] === 'function') continue;
    redis.defineCommand(command, { numberOfKeys: s.numberOfKeys, lua: s.lua });
  }
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

// Typed entry points; each passes its KEYS in the order its .lua file lists them.
// On a client they return the script's reply; on a pipeline they queue the call
// and the reply comes with the pipeline's results.
export const scripts = {
  /**
   * See apply-events-n.lua: one base key per user (Keys.userBase); ARGV per user:
   * its event count, then five per event. Reply per user: { a seq per event (0 for
   * a duplicate), the user's gateway nodes, the unread counts flat (when pushed),
   * the duplicates still pending in the fast tier flat (id, seq, JSON; when online) }.
   */
  applyEvents: (r: Runner, bases: string[], args: (string | number)[]) =>
    run<[number[], string[], string[], string[]][]>(
      r,
      'applyEvents',
      [bases.length, ...bases],
      [S.seen, S.seq, S.feed, S.msg, S.fast, S.unread, S.nodes, ...args],
    ),

  /** See read-6.lua. Reply: { changed, category, count, ... }. */
  read: (r: Runner, k: UserKeys, mode: 'all' | 'category' | 'ids', items: string[]) =>
    run<(string | number)[]>(r, 'read', [k.feed, k.msg, k.unread, k.readmark, k.readids, k.seq], [mode, ...items]),

  /**
   * See ack-n.lua: one base key per user (Keys.userBase); ARGV per user: its id
   * count, then the ids. Reply: { removed from fast, removed from delayed }.
   */
  ack: (r: Runner, acks: { base: string; ids: Iterable<string> }[]) => {
    const args: (string | number)[] = [S.fast, S.delayed];
    for (const { ids } of acks) {
      // The count goes before the ids; an iterable's is known once they are in.
      const at = args.push(0) - 1;
      for (const id of ids) args.push(id);
      args[at] = args.length - at - 1;
    }
    return run<[number, number]>(r, 'ack', [acks.length, ...acks.map((a) => a.base)], args);
  },

  /** See move-tier-3.lua. Reply: { moved, accepted_at of the first left in fast or -1 }. */
  moveTier: (r: Runner, k: UserKeys, cutoff: number, max: number) =>
    run<[number, number]>(r, 'moveTier', [k.fast, k.delayed, k.msg], [cutoff, max]),

  /** See purge-8.lua. Reply: { purged, pending fast, pending delayed, unread, oldest left or -1 }. */
  purge: (r: Runner, k: UserKeys, cutoff: number, max: number) =>
    run<[number, number, number, number, number]>(
      r,
      'purge',
      [k.seen, k.feed, k.msg, k.fast, k.delayed, k.unread, k.readmark, k.readids],
      [cutoff, max],
    ),

  /** See list-feed-6.lua. Reply: { readmark pairs, the next page's `before` or '', then five entries per message }. */
  listFeed: (r: Runner, k: UserKeys, before: number | '+inf', limit: number) =>
    run<unknown[]>(r, 'listFeed', [k.feed, k.msg, k.fast, k.delayed, k.readmark, k.readids], [before, limit]),

  /** See renew-lock-1.lua. ttlMs 0 releases. Reply: 1 when the caller held the lock. */
  renewLock: (r: Runner, key: string, holder: string, ttlMs: number) => run<number>(r, 'renewLock', [key], [holder, ttlMs]),

  /** See pending-page-n.lua: one base key per user (Keys.userBase). Reply per user: three entries per message: id, seq, stored JSON. */
  pendingPage: (r: Runner, tier: 'fast' | 'delayed', bases: string[], afterSeq: number, limit: number) =>
    run<string[][]>(r, 'pendingPage', [bases.length, ...bases], [afterSeq, limit, S[tier], S.msg]),

  /** See ack-through-4.lua. Reply: { removed from fast, removed from delayed, recovered 1/0 }. */
  ackThrough: (r: Runner, k: UserKeys, since: number, max: number) =>
    run<[number, number, number]>(r, 'ackThrough', [k.fast, k.delayed, k.feed, k.seq], [since, max]),

  /** See claim-redeliveries-2.lua. Reply: three entries per user: uid, attempt, next check or -1. */
  claimRedeliveries: (r: Runner, keys: Keys, now: number, limit: number, waitMs: number, maxAttempts: number) =>
    run<(string | number)[]>(r, 'claimRedeliveries', [keys.redeliverDue, keys.redeliverAttempts], [now, limit, waitMs, maxAttempts]),

  /** See release-redeliveries-2.lua. Reply: how many users were taken off the schedule. */
  releaseRedeliveries: (r: Runner, keys: Keys, users: { uid: string; scheduledAt: number }[]) =>
    run<number>(r, 'releaseRedeliveries', [keys.redeliverDue, keys.redeliverAttempts], users.flatMap((u) => [u.uid, u.scheduledAt])),
};
