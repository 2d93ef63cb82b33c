import type { Summary } from './summary.ts';

/**
 * The demo's live view, as pure functions of what was measured so far: the CLI decides when to draw and where.
 * On a terminal the frame is redrawn in place; elsewhere (a pipe, CI) each tick prints one plain line per side.
 */
export interface SideProgress {
  /** Requests sent so far. */
  sent: number;
  /** Requests the fleet's upstreams received for this side so far (attempts; equals `sent` for direct). */
  upstreamRequests: number;
  /** Summary of the answered requests (summarize() over the records so far). */
  summary: Summary;
}

const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)} ms` : '—');
const pct = (x: number, n: number) => (n === 0 ? '—' : `${x.toFixed(1)}%`);

/** Failure reasons, most frequent first: "http_503 12, connection_error 3" (or "none"); at most `max` of them. */
export function errorsByReason(failures: Readonly<Record<string, number>>, max = 5): string {
  const sorted = Object.entries(failures).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (sorted.length === 0) return 'none';
  const shown = sorted.slice(0, max).map(([k, v]) => `${k} ${v}`);
  const rest = sorted.slice(max).reduce((n, [, v]) => n + v, 0);
  return rest > 0 ? `${shown.join(', ')}, other ${rest}` : shown.join(', ');
}

/** "sent 640, answered 610, success 63.2%, p99 1830 ms, silent truncations 3, upstream ×1.08" */
export function sideStats(p: SideProgress): string {
  const s = p.summary;
  const amp = p.sent === 0 ? '—' : `×${(p.upstreamRequests / p.sent).toFixed(2)}`;
  return (
    `sent ${p.sent}, answered ${s.requests}, success ${pct(s.successPct, s.requests)}, p99 ${ms(s.latencyP99Ms)}, ` +
    `silent truncations ${s.silentTruncations}, upstream requests ${amp}`
  );
}

/** One line per side for output that is not a terminal: "[ 12s] direct   sent …; errors: …". */
export function plainLines(elapsedS: number, sides: readonly SideProgress[]): string[] {
  const width = Math.max(...sides.map((p) => p.summary.target.length));
  const t = `[${String(Math.round(elapsedS)).padStart(3)}s]`;
  return sides.map(
    (p) => `${t} ${p.summary.target.padEnd(width)}  ${sideStats(p)}; errors: ${errorsByReason(p.summary.failures)}`,
  );
}

/**
 * The terminal frame: a status line, then per side its numbers and its errors on their own lines. Each line is
 * cut to `columns` so none wraps (a wrapped line would throw off the cursor-up count of the next redraw).
 */
export function ttyFrame(status: string, sides: readonly SideProgress[], columns: number): string[] {
  const width = Math.max(...sides.map((p) => p.summary.target.length));
  const lines = [status];
  for (const p of sides) {
    lines.push(`  ${p.summary.target.padEnd(width)}  ${sideStats(p)}`);
    lines.push(`  ${' '.repeat(width)}  errors: ${errorsByReason(p.summary.failures)}`);
  }
  return lines.map((l) => fit(l, columns));
}

export function fit(line: string, columns: number): string {
  if (columns <= 1 || line.length < columns) return line;
  return `${line.slice(0, columns - 2)}…`;
}

/**
 * What to write to replace the previous frame (`previousLines` lines, each ended by a newline) with `lines`:
 * cursor up to the frame's first line, clear to the end of the screen, write the new frame.
 */
export function redraw(previousLines: number, lines: readonly string[]): string {
  const up = previousLines > 0 ? `\x1b[${previousLines}F\x1b[J` : '';
  return `${up}${lines.join('\n')}\n`;
}
