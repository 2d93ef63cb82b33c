import { formatKeyPath } from './key-path.ts';
import type { Locate } from './yaml-source.ts';

/**
 * The problems found while resolving a config, each in the house style: key path, its line, what was found and
 * what was expected. All of them are collected before the config is refused, so one run names every mistake.
 */
export class Problems {
  readonly lines: string[] = [];
  readonly locate: Locate;

  constructor(locate: Locate) {
    this.locate = locate;
  }

  /** A problem with the key at `segs`. */
  at(segs: readonly (string | number)[], text: string): void {
    this.lines.push(`${formatKeyPath(segs)}${this.locate(segs.map(String))}: ${text}`);
  }

  /** Lines already in the house style (config/exposure.ts writes its own). */
  add(lines: readonly string[]): void {
    this.lines.push(...lines);
  }
}
