// The admin's figures are read, not pushed: one refresh every few seconds, never
// two at once (a slow answer delays the next instead of piling up), and none
// while the tab is hidden, since nobody is looking and the server has better
// things to do. Back in view, it refreshes at once.
export class Poller {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private again = false;
  private stopped = true;

  constructor(
    private readonly everyMs: number,
    private readonly refresh: () => Promise<void>,
  ) {}

  start(): void {
    this.stopped = false;
    document.addEventListener('visibilitychange', this.onVisibility);
    void this.now();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    document.removeEventListener('visibilitychange', this.onVisibility);
  }

  /** Refreshes now (after an action whose effect the admin waits to see). */
  async now(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running) {
      // One refresh is under way and may have read the state before the action.
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        await this.refresh();
      } while (this.again && !this.stopped);
    } finally {
      this.running = false;
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.stopped || document.visibilityState === 'hidden') return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.now(), this.everyMs);
  }

  private readonly onVisibility = () => {
    if (document.visibilityState === 'hidden') {
      clearTimeout(this.timer);
      this.timer = undefined;
    } else if (!this.running) {
      void this.now();
    }
  };
}
