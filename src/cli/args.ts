/**
 * The CLI commands' flags: `--flag VALUE`, `--flag=VALUE`, or a bare switch; anything else is
 * refused by name. Shared by the client commands (check-leaks, tasks), which also share what a
 * base URL must look like.
 * NOTE: by hand, not node:util parseArgs: its messages ("Unknown option '--x'. To specify a
 * positional argument starting with a '-'...") are worse for these two short commands, and
 * matching ours would mean catching and rewriting its errors.
 */

/** Whether a flag takes a value or is a switch. */
export type FlagKind = 'value' | 'switch';

/** The flags given: a switch maps to true, a value flag to its value (undefined when missing). */
export type Flags = ReadonlyMap<string, string | true | undefined>;

/** Reads `argv` against `kinds`; a string says what is wrong (an unknown argument). */
export function readFlags(
  argv: readonly string[],
  kinds: Readonly<Record<string, FlagKind>>,
): Flags | string {
  const flags = new Map<string, string | true | undefined>();
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const kind = Object.hasOwn(kinds, flag) ? kinds[flag] : undefined;
    if (kind === undefined) return `unknown argument ${flag}`;
    flags.set(flag, kind === 'switch' ? true : (inline ?? argv[++i]));
  }
  return flags;
}

/** A value flag's value, if given. */
export function valueOf(flags: Flags, flag: string): string | undefined {
  const v = flags.get(flag);
  return typeof v === 'string' ? v : undefined;
}

/** A whole number >= `min` given for `flag`, `fallback` when absent, else undefined (refused). */
export function wholeNumber(
  flags: Flags,
  flag: string,
  min: number,
  fallback: number,
): number | undefined {
  if (!flags.has(flag)) return fallback;
  const n = Number(valueOf(flags, flag));
  return Number.isInteger(n) && n >= min ? n : undefined;
}

/** The proxy's base URL from --url, without trailing slashes; a string says what is wrong. */
export function baseUrl(flags: Flags): { url: string } | string {
  const url = valueOf(flags, '--url');
  if (url === undefined || !/^https?:\/\//.test(url))
    return '--url BASE_URL (http:// or https://) is required';
  return { url: url.replace(/\/+$/, '') };
}
