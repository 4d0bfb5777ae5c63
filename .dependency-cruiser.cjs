// The layering, written once: folders depend one way only, from the front ends
// down to Redis, with the protocol and the domain types at the bottom (see the
// README's layout table). `npm run lint` fails when an import breaks it.
//
//   composition   src/cli.ts, src/service.ts: build and start everything
//   front ends    src/api, src/gateway, src/cron, workers/  (never each other)
//   operations    src/ops
//   push          src/push: frames to the nodes that hold their users
//   state         src/store, src/queues.ts, src/auth
//   redis         src/redis
//   bottom        src/events, src/chat, src/protocol, src/errors.ts, src/config.ts,
//                 src/logger.ts, src/metrics.ts: no I/O of their own
//   client        src/client: the protocol and nothing else of the server
//   pages         web/src: the client (and through it the protocol), nothing else
//
// src/context.ts (the shared context) is named by the composition and the front
// ends only; below them a module declares the few things it uses.
const FRONT = '^(src/(api|gateway|cron)/|workers/)';
const COMPOSITION = '^src/(cli|service)\\.ts$';
const OPS = '^src/ops/';
const PUSH = '^src/push/';
const STATE = '^src/(store/|queues\\.ts$|auth/)';
const REDIS = '^src/redis/';
const BOTTOM = '^src/(events/|chat/|protocol/|errors\\.ts$|config\\.ts$|logger\\.ts$|metrics\\.ts$)';

/** A rule that forbids `from` to import `to`. */
const forbid = (name, comment, from, to) => ({ name, comment, severity: 'error', from, to });

module.exports = {
  forbidden: [
    forbid('no-circular', 'modules that import each other, however far round', {}, { circular: true }),
    forbid('front-ends-on-top', 'only the composition starts a front end', { pathNot: [COMPOSITION, FRONT] }, { path: FRONT }),
    forbid('api-alone', 'the front ends do not call one another', { path: '^src/api/' }, { path: '^(src/(gateway|cron)/|workers/)' }),
    forbid('gateway-alone', 'the front ends do not call one another', { path: '^src/gateway/' }, { path: '^(src/(api|cron)/|workers/)' }),
    forbid('cron-alone', 'the front ends do not call one another', { path: '^src/cron/' }, { path: '^(src/(api|gateway)/|workers/)' }),
    forbid('workers-alone', 'the front ends do not call one another', { path: '^workers/' }, { path: '^src/(api|gateway|cron)/' }),
    forbid('ops-below-front-ends', 'an operation is the same whatever front end calls it', { path: OPS }, { path: `${FRONT}|${COMPOSITION}` }),
    forbid('push-below-ops', 'the push path serves operations and workers, not the other way', { path: PUSH }, { path: `${OPS}|${FRONT}|${COMPOSITION}` }),
    forbid('state-below-push', 'state knows nothing of who reads it', { path: STATE }, { path: `${PUSH}|${OPS}|${FRONT}|${COMPOSITION}` }),
    forbid('redis-below-state', 'the connection, keys and scripts know no state module', { path: REDIS }, { path: `${STATE}|${PUSH}|${OPS}|${FRONT}|${COMPOSITION}` }),
    forbid('bottom-is-bottom', 'protocol, domain types, errors, config, logs and metrics do no I/O and import only each other', { path: BOTTOM }, { path: '^(src|workers)/', pathNot: [BOTTOM] }),
    forbid('client-takes-protocol-only', 'the client runs in browsers: it takes the protocol and nothing else of the server', { path: '^src/client/' }, { path: '^(src|workers)/', pathNot: ['^src/(client|protocol)/'] }),
    forbid('pages-take-the-client-only', 'the pages run in browsers and speak to PMQ as any client does', { path: '^web/' }, { path: '^(src|workers)/', pathNot: ['^src/(client|protocol)/'] }),
    forbid('protocol-takes-no-server-code', 'the client loads protocol/ in browsers', { path: '^src/protocol/' }, { path: '^(src|workers)/', pathNot: ['^src/(protocol|events|chat)/'] }),
    forbid(
      'context-for-front-ends-only',
      'below the front ends a module names the few things it uses (ops/read.ts: ReadDeps), not the whole context',
      { path: `${OPS}|${PUSH}|${STATE}|${REDIS}|${BOTTOM}|^src/client/` },
      { path: '^src/context\\.ts$' },
    ),
    forbid('src-not-on-tests-or-benches', 'what ships does not load what tests it', { path: '^(src|workers|web)/' }, { path: '^(test|bench|examples)/' }),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
