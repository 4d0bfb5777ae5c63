// The sockets of this node: every one, and the authenticated ones by user, kept
// in step with the registry in Redis (which node holds which user) so that
// pushes for a user come here while they have a socket here.
import type { Registry } from '../store/registry.js';
import { CLOSE } from '../protocol/close-codes.js';
import type { NodeMessage } from '../protocol/node-message.js';
import type { Connection } from './connection.js';

export class Sessions {
  readonly all = new Set<Connection>();
  /** A user's sockets on this node: an array, as most users have one (a Set costs more). */
  private readonly byUser = new Map<string, Connection[]>();
  /** Set at shutdown: the registry is left whole (removeAll), not user by user. */
  private stopping = false;

  constructor(
    private readonly registry: Registry,
    private readonly maxPerUser: number,
    /** Called once a user's last socket here is gone from the registry (or the node stops). */
    private readonly onLeft: (uid: string) => Promise<void> = async () => {},
  ) {}

  get users(): IterableIterator<string> {
    return this.byUser.keys();
  }

  opened(conn: Connection): void {
    this.all.add(conn);
  }

  /**
   * Counts `conn` as one of `uid`'s sockets and, for their first here, registers
   * the user on this node. Returns false (and closes it, 4429) when the user
   * already holds the most sockets allowed: refused before it is counted or
   * registered, it leaves nothing behind.
   */
  async signedIn(conn: Connection, uid: string): Promise<boolean> {
    const conns = this.byUser.get(uid);
    if (conns && conns.length >= this.maxPerUser) {
      conn.close(CLOSE.tooManySockets, `at most ${this.maxPerUser} sockets per user: close another one`);
      return false;
    }
    conn.uid = uid;
    if (conns) conns.push(conn);
    else this.byUser.set(uid, [conn]);
    if (!conns) await this.registry.add(uid);
    return true;
  }

  closed(conn: Connection): void {
    this.all.delete(conn);
    const uid = conn.uid;
    if (uid === undefined) return;
    const conns = this.byUser.get(uid);
    const i = conns?.indexOf(conn) ?? -1;
    if (!conns || i === -1) return;
    conns.splice(i, 1);
    if (conns.length === 0) {
      this.byUser.delete(uid);
      // A failure is logged by the registry; it must not become an unhandled rejection.
      if (!this.stopping) {
        void this.registry
          .remove(uid)
          .then(() => this.onLeft(uid))
          .catch(() => undefined);
      }
    }
  }

  /** Writes each user's frames, as they came, to each of the user's sockets here. */
  deliver(m: NodeMessage<Buffer>): void {
    for (const u of m.users) {
      const conns = this.byUser.get(u.uid);
      if (conns) for (const c of conns) c.send(u.frames);
    }
  }

  /** Writes this node's users into the registry again (after Redis lost them). */
  registerAgain(): void {
    void this.registry.addAll(this.byUser.keys()).catch(() => undefined);
  }

  /**
   * Leaves the registry (pushes stop coming here), then closes every socket with
   * `code`, also when the registry could not be left (Redis away): it rejects then.
   */
  async closeAll(code: number, reason: string): Promise<void> {
    this.stopping = true;
    const users = [...this.byUser.keys()];
    try {
      await this.registry.removeAll(users);
    } finally {
      // A client whose network is gone never answers: the node's stop does not wait for it.
      for (const c of this.all) c.closeSoon(code, reason);
    }
    for (const uid of users) await this.onLeft(uid).catch(() => undefined);
  }
}
