// How the admin page writes its figures: counts in the reader's locale, durations
// in the largest units that matter (an hour's wait in hours, a reply in seconds).
const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

export function count(n: number): string {
  return integer.format(n);
}

/** Events per second: a decimal below 10, where it tells a trickle from nothing. */
export function rate(perSecond: number): string {
  return perSecond < 10 ? oneDecimal.format(perSecond) : integer.format(perSecond);
}

/** 350 ms, 4.2 s, 3 min 5 s, 2 h 10 min; "—" for no value. */
export function duration(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 1) return `${integer.format(seconds * 1000)} ms`;
  if (seconds < 60) return `${(seconds < 10 ? oneDecimal : integer).format(seconds)} s`;
  const s = Math.floor(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** How long ago an ISO time was, as a duration ("3 min 5 s"). */
export function since(iso: string, now = Date.now()): string {
  return duration(Math.max(0, (now - Date.parse(iso)) / 1000));
}
