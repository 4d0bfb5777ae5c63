// A full garbage collection in another Node process, through the DevTools
// protocol of a process started with --inspect=127.0.0.1:<port>.
//
// RSS read right after a burst of connections holds the burst's garbage (HTTP
// upgrades, token checks, Redis replies) until V8 gets round to a full GC: its
// memory reducer does so by itself once the process is idle, but on its own
// schedule (seconds to tens of seconds). Collecting first makes the reading what
// the sockets themselves hold, the same on every run.
import WebSocket from 'ws';

export async function collectGarbage(inspectPort: number, timeoutMs = 30_000): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${inspectPort}/json/list`);
  const targets = (await res.json()) as { webSocketDebuggerUrl?: string }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${inspectPort}`);
  const ws = new WebSocket(url, { perMessageDeflate: false });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('HeapProfiler.collectGarbage timed out')), timeoutMs);
      ws.once('error', reject);
      ws.once('open', () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })));
      ws.on('message', (data) => {
        const reply = JSON.parse(String(data)) as { id?: number; error?: { message: string } };
        if (reply.id !== 1) return;
        clearTimeout(timer);
        if (reply.error) reject(new Error(`HeapProfiler.collectGarbage: ${reply.error.message}`));
        else resolve();
      });
    });
  } finally {
    ws.terminate();
  }
}
