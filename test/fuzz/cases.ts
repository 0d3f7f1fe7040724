/**
 * The mix of malformed requests the fuzz test sends: every generator, weighted, drawn from
 * one seeded PRNG so a failing case replays by its seed and index.
 */
import {
  deepNesting,
  invalidJson,
  missingFields,
  notAnObject,
  oddUnicode,
  truncatedJson,
  wrongTypes,
} from './body-cases.js';
import {
  badAuth,
  malformedHttp,
  oversized,
  unknownRoute,
  wrongContentType,
  wrongMethod,
} from './http-cases.js';
import { prng, type FuzzCase, type Rng } from './kit.js';

const GENERATORS: readonly [number, (r: Rng) => FuzzCase][] = [
  [6, (r) => wrongTypes(r, false)],
  [3, (r) => wrongTypes(r, true)],
  [2, missingFields],
  [3, invalidJson],
  [3, truncatedJson],
  [1, notAnObject],
  [1, deepNesting],
  [2, oddUnicode],
  [2, wrongContentType],
  [1, oversized],
  [2, wrongMethod],
  [2, unknownRoute],
  [3, badAuth],
  [2, malformedHttp],
];

/** `count` cases drawn by weight from every generator. */
export function generateCases(seed: number, count: number): FuzzCase[] {
  const r = prng(seed);
  const total = GENERATORS.reduce((n, [w]) => n + w, 0);
  const out: FuzzCase[] = [];
  for (let i = 0; i < count; i++) {
    let x = r.next() * total;
    for (const [w, gen] of GENERATORS) {
      x -= w;
      if (x < 0) {
        out.push(gen(r));
        break;
      }
    }
  }
  return out;
}
