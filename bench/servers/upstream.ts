/**
 * The fast fixed-answer upstream: a realistic chat.completion (with usage) for a JSON call and a 20-chunk SSE
 * answer plus usage chunk and [DONE] for `"stream": true`, both prebuilt and written at once. It only looks for
 * `"stream":true` in the raw body, so it stays cheap enough not to be the bottleneck.
 *
 *   node bench/servers/upstream.ts [--port 0]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { argValue, serveChildProtocol } from './child-protocol.ts';

const created = 1_700_000_000;
const id = 'chatcmpl-bench0000000000000000000001';
const model = 'bench-model-2025-01-01';
const usage = {
  prompt_tokens: 9,
  completion_tokens: 20,
  total_tokens: 29,
  prompt_tokens_details: { cached_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0 },
};
const words =
  'Hello! This is a fixed answer from the bench upstream, twenty tokens long, so every reply costs the same.'.split(
    ' ',
  );

const json = Buffer.from(
  JSON.stringify({
    id,
    object: 'chat.completion',
    created,
    model,
    system_fingerprint: 'fp_bench',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: words.join(' '), refusal: null },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage,
  }),
);

const chunk = (delta: object, finish: string | null): string =>
  `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_bench', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
const events = [chunk({ role: 'assistant', content: '' }, null)];
for (let i = 0; i < words.length; i++) events.push(chunk({ content: (i === 0 ? '' : ' ') + words[i] }, null));
events.push(chunk({}, 'stop'));
events.push(
  `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_bench', choices: [], usage })}\n\n`,
);
events.push('data: [DONE]\n\n');
const sse = Buffer.from(events.join(''));

const STREAM = /"stream"\s*:\s*true/;

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (c: Buffer) => parts.push(c));
  req.on('end', () => {
    if (STREAM.test(Buffer.concat(parts).toString('latin1'))) {
      // Chunked, like a real streaming upstream, but all events in one write.
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(sse);
      res.end();
    } else {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': json.length });
      res.end(json);
    }
  });
});

server.listen(Number(argValue('port', '0')), '127.0.0.1', () => {
  serveChildProtocol(
    (server.address() as AddressInfo).port,
    () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  );
});
