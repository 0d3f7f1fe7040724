/**
 * Reading an upstream's Retry-After header: part of classifying its answer, so the adapter
 * that reads the header and the engine that waits agree on one number.
 */

// RFC 9110 section 5.6.7: recipients must accept all three HTTP-date forms.
const IMF_FIXDATE = /^[a-z]{3}, \d{2} [a-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/i;
const RFC_850 = /^[a-z]{6,9}, \d{2}-[a-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT$/i;
const ASCTIME = /^[a-z]{3} [a-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/i;
// RFC delta-seconds are digits only; some providers send fractions, which cost nothing to accept.
const DELTA_SECONDS = /^\d+(\.\d+)?$/;

/**
 * A Retry-After header value as milliseconds from `nowMs` (wall-clock epoch ms, as an
 * HTTP-date is absolute): delta-seconds or an HTTP-date, never negative (a date in the
 * past means "now"). Undefined when absent or unparseable; the caller then backs off.
 * NOTE: only strict formats are accepted, because `Date.parse` alone reads "1" or "-5" as
 * a year.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  nowMs: number,
): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (DELTA_SECONDS.test(text)) return Number(text) * 1000;
  let at = Number.NaN;
  if (IMF_FIXDATE.test(text) || RFC_850.test(text)) at = Date.parse(text);
  // asctime has no zone and means GMT; Date.parse would read it as local time.
  else if (ASCTIME.test(text)) at = Date.parse(`${text} GMT`);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
