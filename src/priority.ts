/**
 * The classes a waiting request can be in, declared once for the whole gateway. `background` is the class of async
 * jobs and batch items (src/jobs/): no client header asks for it, and it never lengthens an interactive request's
 * wait.
 */
export type Priority = 'high' | 'normal' | 'low' | 'background';
export const PRIORITIES: readonly Priority[] = ['high', 'normal', 'low', 'background'];
/** Lower is more important. */
export const PRIORITY_RANK: Readonly<Record<Priority, number>> = { high: 0, normal: 1, low: 2, background: 3 };

/** The classes a client (`x-spillway-priority`) or a tenant (`tenants.<name>.priority`) can name. */
export type RequestPriority = Exclude<Priority, 'background'>;
