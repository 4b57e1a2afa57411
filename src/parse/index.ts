/** Bounded parsing in child processes: the pool (parent side) and the serve loop (child side). */
export { ParsePool } from './pool.js';
export { charCounter, serveParsing } from './child.js';
