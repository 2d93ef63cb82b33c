import { RecentSamples } from '../upstream/recent-samples.ts';

/**
 * Recent times to first token of one model, for the hedging delay: a request still waiting past the p-th
 * percentile of its recent peers is probably stuck behind a busy upstream. A ring of the last `size` samples.
 */
export class TtftTracker extends RecentSamples {}
