export { type Clock, systemClock, ManualClock } from './clock.js';
export { type RandomSource, systemRandom, SeededRandom } from './random.js';
