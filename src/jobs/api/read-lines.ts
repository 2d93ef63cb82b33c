import { createReadStream } from 'node:fs';

/** A line longer than the reader's limit: where it starts and how long it got before reading stopped. */
export class LineTooLongError extends Error {
  readonly lineNo: number;
  constructor(lineNo: number, maxBytes: number) {
    super(`line ${lineNo} is longer than ${maxBytes} bytes`);
    this.name = 'LineTooLongError';
    this.lineNo = lineNo;
  }
}

/**
 * The lines of a file (`\n` or `\r\n`), each at most `maxBytes` long, read in chunks. readline has no such bound:
 * a file that is one 200 MB line would be held whole in memory before the first check could run. Here reading
 * stops as soon as the line being read passes the bound.
 */
export async function* readLines(path: string, maxBytes: number): AsyncGenerator<string> {
  let parts: Buffer[] = [];
  let pending = 0;
  let lineNo = 1;
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let start = 0;
      for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
        parts.push(chunk.subarray(start, nl));
        yield line(parts, lineNo, maxBytes);
        parts = [];
        pending = 0;
        lineNo++;
        start = nl + 1;
      }
      pending += chunk.length - start;
      if (pending > maxBytes + 1) throw new LineTooLongError(lineNo, maxBytes);
      if (start < chunk.length) parts.push(chunk.subarray(start));
    }
    if (pending > 0) yield line(parts, lineNo, maxBytes);
  } finally {
    stream.destroy();
  }
}

/** One line's bytes as text, without a trailing `\r` (not content, so not counted against the bound). */
function line(parts: Buffer[], lineNo: number, maxBytes: number): string {
  let b = Buffer.concat(parts);
  if (b.at(-1) === 0x0d) b = b.subarray(0, -1);
  if (b.length > maxBytes) throw new LineTooLongError(lineNo, maxBytes);
  return b.toString('utf8');
}
