/**
 * The one place that reads configuration from disk: which file (argument, then
 * LLM_PROXY_CONFIG, else the built-in demo), YAML with line numbers in syntax errors,
 * interpolation, HOST/PORT overrides, validation. Synchronous: it runs once, at start-up,
 * before anything listens.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { demoConfigInput } from './defaults.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { interpolate, type Env } from './interpolate.js';
import { configOrThrow, validateConfig } from './parse.js';
import { applyServerEnv } from './server-env.js';
import type { Config } from './schema.js';

export interface LoadConfigOptions {
  /** A YAML file; when absent, LLM_PROXY_CONFIG; when that is unset too, the demo config. */
  file?: string | undefined;
  /** Interpolation source and HOST/PORT/LLM_PROXY_CONFIG; defaults to process.env. */
  env?: Env | undefined;
}

/** Loads and validates the configuration; throws ConfigError listing every problem. */
export function loadConfig({ file, env = process.env }: LoadConfigOptions = {}): Config {
  const path = nonEmpty(file) ?? nonEmpty(env['LLM_PROXY_CONFIG']);
  const source = path === undefined ? 'built-in demo configuration' : `configuration ${path}`;
  const raw = path === undefined ? demoConfigInput() : readYaml(path);

  const interpolated = interpolate(raw, env);
  const overridden = applyServerEnv(interpolated.value, env);
  const validation = validateConfig(overridden.tree);
  const annotate = (p: ConfigProblem): ConfigProblem => {
    const variable = overridden.sources.get(p.path);
    return variable === undefined
      ? p
      : { path: p.path, message: `${p.message} (from env ${variable})` };
  };
  return configOrThrow(
    interpolated.problems,
    validation.ok ? validation : { ok: false, problems: validation.problems.map(annotate) },
    source,
  );
}

/** Parses YAML text; every syntax error is a problem at `file:line:column`. */
export function parseYaml(text: string, file: string): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((error) => {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      return { path: `${file}:${line}:${col}`, message: firstLine(error.message) };
    });
    throw new ConfigError(problems, `configuration ${file}`);
  }
  // An empty file is an empty mapping: the schema then says what is required.
  return doc.toJS() ?? {};
}

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError([{ path: file, message: `cannot read the file (${reason})` }]);
  }
  return parseYaml(text, file);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0] ?? message;
}
