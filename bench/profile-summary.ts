/**
 * Where a process's CPU time went, from a V8 `.cpuprofile` (`node --cpu-prof`): self time aggregated by function
 * (name + file + line) and by file, as a share of the busy (non-idle) samples.
 *
 *   node bench/profile-summary.ts <file.cpuprofile | directory (newest profile)> [--top 15]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  /** Microseconds since the previous sample (the first: since startTime). */
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileRow {
  name: string;
  where: string;
  /** Share of busy samples, 0–100. */
  percent: number;
}

export interface ProfileSummary {
  file: string;
  /** Wall time the profile covers and the part of it the process was busy, ms. */
  wallMs: number;
  busyMs: number;
  byFunction: ProfileRow[];
  byFile: ProfileRow[];
  /** Inclusive (self + callees) time of Spillway's own functions, src/ only. */
  spillwayInclusive: ProfileRow[];
  /** Inclusive time of each dependency package (node_modules), as first entered from outside it. */
  packagesInclusive: ProfileRow[];
}

const ROOT = pathToFileURL(join(import.meta.dirname, '..')).href + '/';

function packageOf(url: string): string | undefined {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm < 0) return undefined;
  const parts = url.slice(nm + '/node_modules/'.length).split('/');
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** `src/relay/relay-sse.ts`, `undici/lib/dispatcher/client-h1.js`, `node:internal/streams/writable`. */
function shortUrl(url: string): string {
  if (url === '') return '(native / V8)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  if (url.startsWith(ROOT)) return url.slice(ROOT.length);
  if (url.startsWith('file://')) return relative(process.cwd(), new URL(url).pathname);
  return url;
}

export function newestProfile(pathOrDir: string): string {
  if (!statSync(pathOrDir).isDirectory()) return pathOrDir;
  const files = readdirSync(pathOrDir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(pathOrDir, f));
  if (files.length === 0) throw new Error(`no .cpuprofile in ${pathOrDir}`);
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0] as string;
}

/**
 * `window`, in the profile's own clock (monotonic microseconds, as `process.hrtime` reads it), keeps only the
 * samples taken while the load ran, leaving out startup, warm-up and shutdown.
 */
export function summarizeProfile(file: string, top = 15, window?: { fromUs: number; toUs: number }): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map<number, number>();
  const from = window?.fromUs ?? -Infinity;
  const to = window?.toUs ?? Infinity;
  let t = profile.startTime;
  let taken = 0;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    if (t < from || t > to) return;
    taken++;
    hits.set(id, (hits.get(id) ?? 0) + 1);
  });
  if (taken === 0) throw new Error(`no samples of ${file} fall in the window`);
  const fns = new Map<string, ProfileRow & { count: number }>();
  const files = new Map<string, ProfileRow & { count: number }>();
  let busy = 0;
  for (const [id, count] of hits) {
    const { functionName, url, lineNumber } = (nodes.get(id) as ProfileNode).callFrame;
    if (functionName === '(idle)') continue;
    busy += count;
    const where = shortUrl(url);
    const name = functionName === '' ? '(anonymous)' : functionName;
    const fnKey = `${name} ${where}:${lineNumber + 1}`;
    const fn = fns.get(fnKey) ?? {
      name,
      where: url === '' ? where : `${where}:${lineNumber + 1}`,
      percent: 0,
      count: 0,
    };
    fn.count += count;
    fns.set(fnKey, fn);
    const fileKey = url === '' ? name : where;
    const f = files.get(fileKey) ?? { name: fileKey, where: '', percent: 0, count: 0 };
    f.count += count;
    files.set(fileKey, f);
  }
  // Inclusive: every distinct src/ function and package on a busy sample's stack gets that sample once.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const own = new Map<string, ProfileRow & { count: number }>();
  const pkgs = new Map<string, ProfileRow & { count: number }>();
  for (const [id, count] of hits) {
    if ((nodes.get(id) as ProfileNode).callFrame.functionName === '(idle)') continue;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { functionName, url, lineNumber } = (nodes.get(at) as ProfileNode).callFrame;
      const where = shortUrl(url);
      const pkg = packageOf(url);
      if (where.startsWith('src/')) {
        const key = `${functionName} ${where}:${lineNumber + 1}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const row = own.get(key) ?? {
          name: functionName === '' ? '(anonymous)' : functionName,
          where: `${where}:${lineNumber + 1}`,
          percent: 0,
          count: 0,
        };
        row.count += count;
        own.set(key, row);
      } else if (pkg !== undefined && !seen.has(pkg)) {
        seen.add(pkg);
        const row = pkgs.get(pkg) ?? { name: pkg, where: '', percent: 0, count: 0 };
        row.count += count;
        pkgs.set(pkg, row);
      }
    }
  }
  const rank = (m: Map<string, ProfileRow & { count: number }>, n = top): ProfileRow[] =>
    [...m.values()]
      .sort((a, b) => b.count - a.count)
      .slice(0, n)
      .map((r) => ({ name: r.name, where: r.where, percent: (100 * r.count) / busy }));
  const wallMs = (Math.min(to, profile.endTime) - Math.max(from, profile.startTime)) / 1000;
  return {
    file,
    wallMs,
    busyMs: (wallMs * busy) / taken,
    byFunction: rank(fns),
    byFile: rank(files),
    spillwayInclusive: rank(own, 12),
    packagesInclusive: rank(pkgs, 8),
  };
}

export function profileMarkdown(s: ProfileSummary): string {
  const lines = [
    `Self time, as a share of the gateway's busy samples (${Math.round(s.busyMs)} ms busy of ${Math.round(s.wallMs)} ms profiled).`,
    '',
    '| # | function | where | self % |',
    '|---:|---|---|---:|',
    ...s.byFunction.map((r, i) => `| ${i + 1} | \`${r.name}\` | ${r.where} | ${r.percent.toFixed(1)} |`),
    '',
    '| file / module | self % |',
    '|---|---:|',
    ...s.byFile.map((r) => `| ${r.name} | ${r.percent.toFixed(1)} |`),
    '',
    "Inclusive time (the function and everything it calls, as far as the synchronous stack shows it), Spillway's own code and each dependency:",
    '',
    '| Spillway function | where | incl. % |',
    '|---|---|---:|',
    ...s.spillwayInclusive.map((r) => `| \`${r.name}\` | ${r.where} | ${r.percent.toFixed(1)} |`),
    '',
    '| package | incl. % |',
    '|---|---:|',
    ...s.packagesInclusive.map((r) => `| ${r.name} | ${r.percent.toFixed(1)} |`),
  ];
  return lines.join('\n');
}

if (import.meta.main) {
  const target = process.argv[2];
  if (target === undefined) {
    console.error('usage: node bench/profile-summary.ts <file.cpuprofile | dir> [--top N]');
    process.exit(2);
  }
  const i = process.argv.indexOf('--top');
  const top = i >= 0 ? Number(process.argv[i + 1]) : 15;
  console.log(profileMarkdown(summarizeProfile(newestProfile(target), top)));
}
