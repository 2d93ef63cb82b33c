/**
 * A one-line progress bar: redrawn in place on a terminal; on a pipe or file (CI logs), one line per change of at
 * least a tenth, so a log does not fill with carriage returns. Hand-written: it is twenty lines.
 */
export function progressBar(
  out: NodeJS.WriteStream,
  width = 30,
): { draw(done: number, total: number, note: string): void; done(done: number, total: number, note: string): void } {
  let lastTenth = -1;
  const line = (done: number, total: number, note: string): string => {
    const f = total === 0 ? 1 : Math.min(1, done / total);
    const filled = Math.round(f * width);
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${(f * 100).toFixed(0)}%  ${note}`;
  };
  return {
    draw(done, total, note) {
      if (out.isTTY) {
        out.write(`\r${line(done, total, note)}\x1b[K`);
        return;
      }
      const tenth = total === 0 ? 10 : Math.floor((10 * done) / total);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        out.write(`${line(done, total, note)}\n`);
      }
    },
    done(done, total, note) {
      out.write(`${out.isTTY ? '\r' : ''}${line(done, total, note)}${out.isTTY ? '\x1b[K' : ''}\n`);
    },
  };
}
