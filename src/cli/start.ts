import { loadConfigFile, resolveConfig } from '../config/load.ts';
import { zeroConfig } from '../config/zero-config.ts';
import type { Config } from '../config/types.ts';
import { startGateway } from '../lifecycle/start-gateway.ts';
import { collectStartupGarbage } from '../lifecycle/collect-startup-garbage.ts';
import { createLogger } from '../observe/log.ts';
import type { MockServer } from '../mock/server.ts';
import type { Command } from './command.ts';
import { intFlag, parseFlags } from './args.ts';

const help = `Usage: spillway start [--config FILE] [--port N] [--host ADDR]

Runs the gateway. Without --config:
  - with DEEPSEEK_API_KEY set, in front of https://api.deepseek.com (deepseek-v4-flash, deepseek-v4-pro; deepseek-chat and deepseek-reasoner as aliases);
  - without it, in front of an embedded SIMULATED upstream, so you can try it with no key and no network.

Options:
  --config FILE   YAML config (see docs/configuration.md)
  --port N        listen port (overrides server.port; 0 picks a free one)
  --host ADDR     listen address (overrides server.host); on any address but loopback Spillway
                  refuses to start without auth.keys and admin.key (see SECURITY.md)

SIGTERM or Ctrl-C drains: /readyz fails, new requests get 503, in-flight ones finish within server.drain_grace.
SIGHUP reloads the --config file (as POST /admin/reload does): an invalid file is refused and logged, the config
in force stays; a valid one is swapped in without dropping a request.`;

export const command: Command = {
  name: 'start',
  summary: 'run the gateway (no config: DeepSeek with DEEPSEEK_API_KEY, else an embedded simulator)',
  help,
  async run(argv) {
    const { values } = parseFlags(argv, {
      config: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
    });
    let mock: MockServer | undefined;
    let config: Config;
    if (values.config !== undefined) {
      config = loadConfigFile(values.config);
    } else {
      // The simulator is loaded only when it is used: a gateway in front of real upstreams never needs it.
      if (!process.env.DEEPSEEK_API_KEY) {
        const { startMock } = await import('../mock/server.ts');
        mock = await startMock({ ttftMs: 150, tokenMs: 15, slots: 32, queueSize: 64, name: 'simulated' });
      }
      config = resolveConfig(zeroConfig(process.env, mock?.url), values.config ?? '(built-in zero-config)');
    }
    const log = createLogger(config.log.level);
    if (mock !== undefined) {
      log.warn(
        { upstream: 'simulated', url: mock.url },
        'no config file and no DEEPSEEK_API_KEY: serving from an embedded SIMULATED upstream, not a real model',
      );
    }
    const port = intFlag('port', values.port);
    let gw;
    try {
      gw = await startGateway(config, {
        log,
        probeKinds: true,
        ...(values.config === undefined ? {} : { configFile: values.config }),
        ...(port === undefined ? {} : { port }),
        ...(values.host === undefined ? {} : { host: values.host }),
      });
    } catch (err) {
      await mock?.close();
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EADDRINUSE') {
        process.stderr.write(
          `spillway: cannot listen on ${values.host ?? config.server.host}:${port ?? config.server.port}: the port is already in use (set server.port or pass --port)\n`,
        );
        return 1;
      }
      if (e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
        process.stderr.write(
          `spillway: cannot listen on ${values.host ?? config.server.host}:${port ?? config.server.port}: ${e.code}\n`,
        );
        return 1;
      }
      throw err;
    }
    collectStartupGarbage();
    // Signal handlers go in before the banner: whoever reads it may signal at once (a SIGHUP with no handler kills).
    const exited = new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          log.warn({ signal }, 'second signal: exiting without waiting');
          resolve(1);
          return;
        }
        stopping = true;
        log.info({ signal, graceMs: gw.config.server.drainGraceMs, inFlight: gw.http.requestsInFlight }, 'draining');
        void gw.shutdown().then(async (clean) => {
          await mock?.close();
          log.info({ clean }, clean ? 'drained; exiting' : 'grace period over; closed the remaining requests');
          resolve(0);
        });
      };
      process.on('SIGHUP', () => {
        if (stopping) return;
        gw.reload().catch((err: unknown) => {
          // The admin API answers with this error; a signal has nobody to answer, so the log says it.
          log.error(
            { signal: 'SIGHUP', err: (err as Error).message },
            'config reload refused; the config in force is kept',
          );
        });
      });
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
    log.info(
      {
        url: gw.url,
        config: config.source,
        upstreams: config.upstreams.map((u) => u.name),
        models: Object.keys(config.models),
      },
      'spillway listening',
    );
    const model = Object.keys(config.models)[0] ?? 'deepseek-v4-flash';
    process.stderr.write(
      `\nSpillway is listening on ${gw.url}${mock === undefined ? '' : ' (upstream: embedded simulator)'}\n` +
        `Try it:\n  curl ${gw.url}/v1/chat/completions -H 'content-type: application/json' \\\n` +
        `    -d '{"model":"${model}","messages":[{"role":"user","content":"Hello"}]}'\n` +
        `Metrics: ${gw.url}/metrics   Health: ${gw.url}/healthz   Dashboard: ${gw.url}/dashboard${config.admin.key === null ? '' : '?key=<admin key>'}\n\n`,
    );
    return await exited;
  },
};
