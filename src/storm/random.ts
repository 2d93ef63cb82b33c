/**
 * The storm's seeded randomness is the simulator's own generator (mulberry32): the arrivals and the request mix must
 * be the same for every target in a run, and from run to run, so results are comparable. Math.random cannot be seeded.
 */
export { createRng as seededRandom } from '../mock/rng.ts';
