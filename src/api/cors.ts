// Cross-origin access for the routes a browser calls from the site's own pages
// (the chat widget), with an allow-list of Origins. The main site's routes take
// secrets no page may hold, and so answer no preflight.
import type { RequestHandler } from 'express';
import { OriginNotAllowedError } from '../errors.js';

/** How long a browser may reuse a preflight's answer. */
const PREFLIGHT_MAX_AGE_S = 600;

export interface CorsRules {
  /** Origins allowed; empty: any, and requests without Origin. */
  origins: readonly string[];
  methods: readonly string[];
  headers: readonly string[];
}

/**
 * Refuses a request from an Origin outside the list (403 `origin_not_allowed`),
 * or without one when there is a list: what is not a page of an allowed site is
 * no widget. An allowed Origin is named back, so that the page may read the
 * answer, errors and their Retry-After included. Answers the preflight itself.
 */
export function cors(rules: CorsRules): RequestHandler {
  const allowMethods = rules.methods.join(', ');
  const allowHeaders = rules.headers.join(', ');
  return (req, res, next) => {
    // The answer depends on Origin, whoever asks: a shared cache must keep them apart.
    res.vary('Origin');
    const origin = req.headers.origin;
    if (rules.origins.length > 0 && (origin === undefined || !rules.origins.includes(origin))) {
      throw new OriginNotAllowedError(
        origin === undefined ? 'this route takes requests from the allowed sites only, and this one has no Origin' : `the Origin ${origin} may not call this route`,
      );
    }
    if (origin !== undefined) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Expose-Headers', 'Retry-After');
    }
    if (req.method !== 'OPTIONS') return next();
    res.setHeader('Access-Control-Allow-Methods', allowMethods);
    res.setHeader('Access-Control-Allow-Headers', allowHeaders);
    res.setHeader('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_S));
    res.status(204).end();
  };
}
