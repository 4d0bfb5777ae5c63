// The figures of GET /v1/admin/stats as tiles: the chat now and over the last
// hour, and the notification side. Where a trend says more than a number
// (queue, open conversations, events per second, pending) the tile has a
// sparkline of the last readings beside the number.
import { h } from '../lib/dom.js';
import type { AdminStats } from './admin-api.js';
import { count, duration, rate } from './format.js';
import { Sparkline } from './sparkline.js';

/** Readings a sparkline keeps: two minutes at one every 2 s. */
const HISTORY = 60;

class Tile {
  readonly el: HTMLElement;
  private readonly value = h('p', { class: 'tile-value' }, '…');
  private readonly note = h('p', { class: 'tile-note muted' });
  private readonly spark: Sparkline | undefined;

  constructor(id: string, label: string, chart?: { every: string; format: (v: number) => string }) {
    const labelId = `tile-${id}`;
    this.spark = chart && new Sparkline(label, HISTORY, chart.every, chart.format);
    this.el = h(
      'div',
      { class: 'tile', attrs: { role: 'group', 'aria-labelledby': labelId } },
      h('h3', { id: labelId, class: 'tile-label' }, label),
      h('div', { class: 'tile-body' }, this.value, this.spark?.el),
      this.note,
    );
  }

  set(value: string, note = ''): void {
    this.value.textContent = value;
    this.note.textContent = note;
  }

  /** A reading for the chart; the number shown is set() apart (it may be formatted otherwise). */
  plot(v: number): void {
    this.spark?.push(v);
  }
}

function tiles(every: string) {
  const chart = (format: (v: number) => string) => ({ every, format });
  return {
    queued: new Tile('queued', 'Queued', chart(count)),
    longest: new Tile('longest-wait', 'Longest wait'),
    agents: new Tile('agents', 'Agents online'),
    open: new Tile('open', 'Open conversations', chart(count)),
    assignments: new Tile('assignments', 'Assignments, last hour'),
    wait: new Tile('wait', 'Wait, last hour'),
    firstResponse: new Tile('first-response', 'First response, last hour'),
    eventsPerSecond: new Tile('events-per-second', 'Events per second', chart(rate)),
    fast: new Tile('pending-fast', 'Pending, fast tier', chart(count)),
    delayed: new Tile('pending-delayed', 'Pending, delayed tier', chart(count)),
    purged: new Tile('purged', 'Purged'),
  };
}

export class Figures {
  /** The chat's tiles. */
  readonly chat: HTMLElement;
  /** The notification side's tiles. */
  readonly notifications: HTMLElement;

  private readonly t: ReturnType<typeof tiles>;
  /** The previous reading of the cumulative events_applied, and when it was taken (ms). */
  private previous: { applied: number; at: number } | undefined;

  constructor(every: string) {
    const t = (this.t = tiles(every));
    this.chat = h('div', { class: 'tiles' }, t.queued.el, t.longest.el, t.agents.el, t.open.el, t.assignments.el, t.wait.el, t.firstResponse.el);
    this.notifications = h('div', { class: 'tiles' }, t.eventsPerSecond.el, t.fast.el, t.delayed.el, t.purged.el);
  }

  /** A reading of the stats, taken at `at` (ms, the page's clock). */
  update(s: AdminStats, at: number): void {
    const t = this.t;
    t.queued.set(count(s.queued), s.queued === 1 ? 'conversation waits for an agent' : 'conversations wait for an agent');
    t.queued.plot(s.queued);
    t.longest.set(s.queued === 0 ? '—' : duration(s.longest_wait_seconds), s.queued === 0 ? 'nobody waits' : 'the oldest in the queue');
    t.agents.set(count(s.agents_online), `${count(s.agents_away)} away`);
    t.open.set(count(s.open_conversations), `${count(s.open_conversations - s.queued)} with an agent`);
    t.open.plot(s.open_conversations);
    t.assignments.set(count(s.assignments_last_hour));
    t.wait.set(percentiles(s.wait_seconds), s.wait_seconds.p50 === null ? 'no samples yet' : 'p50 / p90, queued to assigned');
    t.firstResponse.set(
      percentiles(s.first_response_seconds),
      s.first_response_seconds.p50 === null ? 'no samples yet' : "p50 / p90, to the agent's first reply",
    );

    const n = s.notifications;
    // events_applied only grows: two readings and their times make a rate.
    const prev = this.previous;
    this.previous = { applied: n.events_applied, at };
    if (prev !== undefined && at > prev.at) {
      const perSecond = Math.max(0, n.events_applied - prev.applied) / ((at - prev.at) / 1000);
      t.eventsPerSecond.set(rate(perSecond), `${count(n.events_applied)} applied in all`);
      t.eventsPerSecond.plot(perSecond);
    } else {
      t.eventsPerSecond.set('…', `${count(n.events_applied)} applied in all; the rate needs two readings`);
    }
    t.fast.set(count(n.pending_fast), 'not yet delivered, under a day old');
    t.fast.plot(n.pending_fast);
    t.delayed.set(count(n.pending_delayed), 'not yet delivered, a day to 15 days old');
    t.delayed.plot(n.pending_delayed);
    t.purged.set(count(n.purged), 'messages past their retention, removed');
  }
}

function percentiles(p: { p50: number | null; p90: number | null }): string {
  return p.p50 === null ? '—' : `${duration(p.p50)} / ${duration(p.p90)}`;
}
