import type { Command } from './command.ts';
import { command as start } from './start.ts';
import { command as checkConfig } from './check-config.ts';
import { command as mock } from './mock.ts';
import { command as demo } from './demo.ts';
import { command as jobs } from './jobs.ts';
import { command as batch } from './batch.ts';

/** Every CLI command, in the order `spillway help` lists them. */
export const COMMANDS: readonly Command[] = [start, checkConfig, mock, demo, jobs, batch];
