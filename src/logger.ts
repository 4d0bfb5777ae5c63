// pino JSON logs; every line carries the node id so that lines from several
// processes can be told apart once collected.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, nodeId: string): Logger {
  return pino({
    level,
    base: { node: nodeId },
    timestamp: pino.stdTimeFunctions.isoTime,
    // API keys and tokens travel in this header: never write them to a log.
    redact: ['req.headers.authorization', 'req.headers.cookie'],
  });
}
