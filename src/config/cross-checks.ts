/**
 * Rules that span sections. They take what could be parsed, not the whole Config, so they
 * still report when other parts of the file are invalid (every problem in one pass).
 */
import type { ConfigProblem } from './errors.js';
import { formatPath } from './errors.js';
import type { ProviderConfig } from './provider-schema.js';
import type { CondenseConfig } from './schema.js';

export interface CrossCheckInput {
  /** The `name` of each providers[] entry, as written (undefined when not a string). */
  readonly providerNames: readonly (string | undefined)[];
  /** The parsed providers; undefined when any entry is invalid (so "served by" is unknown). */
  readonly providers: readonly ProviderConfig[] | undefined;
  /** The parsed condense section; undefined when it is invalid. */
  readonly condense: CondenseConfig | undefined;
}

export function crossCheck({
  providerNames,
  providers,
  condense,
}: CrossCheckInput): ConfigProblem[] {
  return [
    ...duplicateNames(providerNames),
    ...(providers ? enabledProviders(providers) : []),
    ...(condense ? summarizers(condense, providers) : []),
  ];
}

function duplicateNames(names: readonly (string | undefined)[]): ConfigProblem[] {
  const firstIndex = new Map<string, number>();
  const problems: ConfigProblem[] = [];
  names.forEach((name, index) => {
    if (name === undefined) return;
    const first = firstIndex.get(name);
    if (first === undefined) firstIndex.set(name, index);
    else
      problems.push({
        path: formatPath(['providers', index, 'name']),
        message: `duplicate provider name "${name}" (first used at providers[${first}])`,
      });
  });
  return problems;
}

function enabledProviders(providers: readonly ProviderConfig[]): ConfigProblem[] {
  if (providers.length === 0 || providers.some((p) => p.enabled)) return [];
  return [{ path: 'providers', message: 'no enabled provider: routing needs at least one' }];
}

/**
 * Every condensed model needs a summarizer (its own or the top-level one), and a summarizer
 * must be a model some enabled provider serves, or condensation fails at request time.
 */
function summarizers(
  condense: CondenseConfig,
  providers: readonly ProviderConfig[] | undefined,
): ConfigProblem[] {
  const served = providers
    ? new Set(providers.filter((p) => p.enabled).flatMap((p) => p.models))
    : undefined;
  const problems: ConfigProblem[] = [];
  const checkServed = (model: string, path: readonly PropertyKey[]): void => {
    if (served && !served.has(model)) {
      problems.push({
        path: formatPath(path),
        message: `summarizer model "${model}" is not served by any enabled provider`,
      });
    }
  };
  if (condense.summarizerModel !== undefined) {
    checkServed(condense.summarizerModel, ['condense', 'summarizerModel']);
  }
  for (const [model, entry] of Object.entries(condense.models)) {
    const path = ['condense', 'models', model, 'summarizerModel'];
    if (entry.summarizerModel !== undefined) checkServed(entry.summarizerModel, path);
    else if (condense.summarizerModel === undefined) {
      problems.push({
        path: formatPath(path),
        message: 'required: no summarizer model here nor at condense.summarizerModel',
      });
    }
  }
  return problems;
}
