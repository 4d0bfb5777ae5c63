// pino logs; every line carries the node id so that lines from several
// processes can be told apart once collected. JSON for machines; on a terminal,
// in development, one readable line per entry (pino-pretty).
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

/**
 * `auto` (PMQ_LOG_FORMAT unset): pretty when a person is likely reading, that
 * is stdout is a terminal and this is not production; JSON otherwise (a pipe, a
 * file, a log collector).
 */
export function resolveLogFormat(
  setting: LogFormat | 'auto',
  env: string,
  isTTY: boolean = process.stdout.isTTY === true,
): LogFormat {
  if (setting !== 'auto') return setting;
  return isTTY && env !== 'production' ? 'pretty' : 'json';
}

export function createLogger(level: string, nodeId: string, format: LogFormat = 'json'): Logger {
  const options = {
    level,
    base: { node: nodeId },
    timestamp: pino.stdTimeFunctions.isoTime,
    // API keys and tokens travel in this header: never write them to a log.
    redact: ['req.headers.authorization', 'req.headers.cookie'],
  };
  if (format === 'json') return pino(options);
  // In this process and synchronous, not a transport's worker thread: the last
  // lines before process.exit (shutdown) must not be lost. Development only, so
  // its cost does not matter.
  return pino(
    options,
    pretty({
      sync: true,
      colorize: process.stdout.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      // The node id on the line itself, not on a line of its own below it.
      messageFormat: '[{node}] {msg}',
      ignore: 'node,pid,hostname',
    }),
  );
}
