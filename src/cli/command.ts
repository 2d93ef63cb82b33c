/** One CLI command. Each command lives in its own file under src/cli/ and is listed in src/cli/index.ts. */
export interface Command {
  name: string;
  /** One line for `spillway help`. */
  summary: string;
  /** Full help text for `spillway <name> --help`. */
  help: string;
  /** Runs the command; resolves to the process exit code. Long-running commands resolve when they stop. */
  run(argv: string[]): Promise<number>;
}
