// Proof that nothing more is coming to a user's socket. A fixed wait proves
// nothing on a loaded machine; instead one more event (the marker) is posted to
// the user and waited for. Every push to a node goes through that node's one
// Redis channel and is written to the socket as it comes, so a frame published
// before the marker (a duplicate, a redelivery, a drain's page) reaches the
// socket before it.
import { randomBytes } from 'node:crypto';
import { waitFor, type TestService } from './service.js';

/** Posts a marker event (a notice) to `uid`; resolves with its id once accepted. */
export async function postMarker(t: TestService, uid: string, id = `marker-${randomBytes(4).toString('hex')}`): Promise<string> {
  const r = await t.http('POST', '/v1/events', { body: { id, type: 'notice', to: uid } });
  if (r.status !== 202) throw new Error(`marker refused: ${r.status} ${JSON.stringify(r.body)}`);
  return id;
}

/**
 * Waits until `received()` (one socket's message frames, in order) holds the
 * marker `id`; resolves with what came before it.
 */
export function beforeMarker<M extends object>(received: () => readonly M[], id: string, timeoutMs = 10_000): Promise<M[]> {
  return waitFor(
    () => {
      const got = received();
      const i = got.findIndex((m) => idOf(m) === id);
      return i >= 0 && got.slice(0, i);
    },
    timeoutMs,
    `the marker ${id} (have ${received().map(idOf).join(',')})`,
  );
}

/** The id of a message frame, whichever client recorded it. */
const idOf = (m: object) => String((m as { id?: unknown }).id);

/**
 * Posts a marker to `uid` and resolves with the message frames that came before
 * it on one socket. What must not come has to be published before the marker:
 * wait first for the jobs that could send it (`drained`, `pushesIdle`).
 */
export async function untilMarker<M extends object>(t: TestService, uid: string, received: () => readonly M[], id?: string): Promise<M[]> {
  return beforeMarker(received, await postMarker(t, uid, id));
}
