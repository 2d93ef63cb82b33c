import { startMock, type MockOptions, type MockServer } from '../../src/mock/server.ts';

/** A simulator for one test, closed when the test ends. */
export async function mockFor(
  t: { after: (fn: () => Promise<void>) => void },
  opts: MockOptions = {},
): Promise<MockServer> {
  const mock = await startMock(opts);
  t.after(() => mock.close());
  return mock;
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

/** The `error` object of an OpenAI-shaped error response. */
export async function errorOf(res: Response): Promise<OpenAIErrorBody['error']> {
  return ((await res.json()) as OpenAIErrorBody).error;
}
