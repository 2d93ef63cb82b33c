/**
 * The words of the simulator's "busy" answers (its 429s and 503s, as DeepSeek and OpenAI word them). A storm client
 * looks for them in what it received: a gateway that hands an upstream's "busy" to its client usually keeps the
 * upstream's message (Spillway wraps it: "Upstream 'x' is overloaded: Server is busy, …"), so the words travel
 * with the answer and tell a relayed upstream refusal from the gateway's own, which has its own codes and words.
 */
const UPSTREAM_BUSY_TEXTS = [
  'Server is busy, please try again later',
  'Rate limit reached for requests',
  'Rate limit reached on requests per min',
  'concurrency limit exceeded',
] as const;

/** Whether `text` (a response body, or an in-band error event) carries one of the simulator's busy answers. */
export function carriesUpstreamBusy(text: string): boolean {
  return UPSTREAM_BUSY_TEXTS.some((t) => text.includes(t));
}
