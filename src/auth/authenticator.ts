// Who is calling: the main site with an API key, or a user with a PMQ token
// (both come as `Authorization: Bearer <secret>`); and PMQ's own tokens, minted
// and verified. Used by the API (api/auth.ts) and the gateway alike.
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import type { Clock } from '../events/clock.js';
import { USER_ID } from '../events/event-schema.js';
import { TokenExpiredError, UnauthorizedError } from '../errors.js';
import { KeySet } from './key-set.js';

export type Principal = { kind: 'api'; key: string } | { kind: 'user'; uid: string };

const ISSUER = 'pmq';

export class Authenticator {
  private readonly apiKeys: KeySet;
  private readonly secret: Uint8Array;

  constructor(
    apiKeys: string[],
    tokenSecret: string,
    private readonly clock: Clock,
  ) {
    this.apiKeys = new KeySet(apiKeys);
    this.secret = new TextEncoder().encode(tokenSecret);
  }

  /** In constant time (see KeySet). */
  isApiKey(candidate: string): boolean {
    return this.apiKeys.has(candidate);
  }

  async mint(uid: string, ttlSeconds: number): Promise<{ token: string; expires_at: string }> {
    const now = Math.floor(this.clock.now() / 1000);
    const exp = now + ttlSeconds;
    const token = await new SignJWT({ kind: 'user' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(uid)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.secret);
    return { token, expires_at: new Date(exp * 1000).toISOString() };
  }

  /** The uid of a valid PMQ token; throws UnauthorizedError or TokenExpiredError. */
  async verifyToken(token: string): Promise<string> {
    return (await this.verifyTokenUntil(token)).uid;
  }

  /** The uid of a valid PMQ token and when it expires (epoch ms). */
  async verifyTokenUntil(token: string): Promise<{ uid: string; expiresAt: number }> {
    // jose reads a signature leniently: it ignores what follows it ("=", spaces)
    // and the unused low bits of its last character. A token is only the exact
    // string PMQ signed, so that no two spellings of one token get in.
    if (!isExactJws(token)) throw new UnauthorizedError('invalid token');
    try {
      const { payload } = await jwtVerify(token, this.secret, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        currentDate: new Date(this.clock.now()),
        requiredClaims: ['sub', 'exp'],
      });
      if (payload.kind !== 'user' || typeof payload.sub !== 'string' || !USER_ID.test(payload.sub)) {
        throw new UnauthorizedError('the token is not a PMQ user token');
      }
      return { uid: payload.sub, expiresAt: payload.exp! * 1000 };
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new TokenExpiredError();
      if (err instanceof UnauthorizedError) throw err;
      throw new UnauthorizedError('invalid token');
    }
  }

  async authenticate(header: string | undefined): Promise<Principal> {
    const secret = bearerOf(header);
    if (secret === undefined) throw new UnauthorizedError();
    if (this.isApiKey(secret)) return { kind: 'api', key: secret };
    // A JWT has three dot-separated parts; anything else is a wrong API key.
    if (secret.split('.').length !== 3) throw new UnauthorizedError('invalid API key');
    return { kind: 'user', uid: await this.verifyToken(secret) };
  }
}

/** The secret of `Authorization: Bearer <secret>` (the scheme in any case), or undefined. */
export function bearerOf(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
}

/** Three base64url parts, the signature spelled as an encoder spells it. */
function isExactJws(token: string): boolean {
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) return false;
  const signature = token.slice(token.lastIndexOf('.') + 1);
  return Buffer.from(signature, 'base64url').toString('base64url') === signature;
}
