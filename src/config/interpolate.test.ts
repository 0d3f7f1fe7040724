import { describe, expect, it } from 'vitest';
import { interpolate, interpolateString } from './interpolate.js';

describe('interpolateString', () => {
  it('replaces ${NAME} with the variable and keeps the surrounding text', () => {
    expect(interpolateString('Bearer ${TOKEN}!', { TOKEN: 'abc' })).toEqual({
      value: 'Bearer abc!',
      problems: [],
    });
  });

  it('uses the default of ${NAME:-default} when the variable is unset or empty', () => {
    expect(interpolateString('${PORT:-8080}', {}).value).toBe('8080');
    expect(interpolateString('${PORT:-8080}', { PORT: '' }).value).toBe('8080');
    expect(interpolateString('${PORT:-8080}', { PORT: '9000' }).value).toBe('9000');
    expect(interpolateString('${KEY:-}', {}).value).toBe('');
  });

  it('keeps an empty but set variable empty for plain ${NAME}', () => {
    expect(interpolateString('${EMPTY}', { EMPTY: '' })).toEqual({ value: '', problems: [] });
  });

  it('reports an unset variable by name and substitutes nothing', () => {
    const result = interpolateString('a${MISSING}b', {});
    expect(result.value).toBe('ab');
    expect(result.problems.map((p) => p.message)).toEqual([
      'environment variable MISSING is not set',
    ]);
  });

  it('turns $${ into a literal ${ without looking the name up', () => {
    expect(interpolateString('$${NOT_A_VAR} costs $5', {})).toEqual({
      value: '${NOT_A_VAR} costs $5',
      problems: [],
    });
  });

  it('does not scan substituted text again, so env values cannot inject references', () => {
    expect(interpolateString('${A}', { A: '${B}', B: 'secret' }).value).toBe('${B}');
  });

  it('reports malformed references without echoing their text', () => {
    for (const text of ['${}', '${1X}', '${my-key}', '${UNCLOSED']) {
      const result = interpolateString(text, {});
      expect(result.problems).toHaveLength(1);
      expect(result.problems[0]?.message).toMatch(/^malformed/);
      expect(result.problems[0]?.message).not.toContain(text);
    }
  });
});

describe('interpolate', () => {
  it('interpolates every string scalar in nested objects and arrays, not keys or non-strings', () => {
    const tree = {
      '${KEY_NAME}': 1,
      auth: { apiKeys: ['${K1}', 'literal'] },
      n: 3,
      on: true,
      none: null,
    };
    const { value, problems } = interpolate(tree, { K1: 'one', KEY_NAME: 'x' });
    expect(problems).toEqual([]);
    expect(value).toEqual({
      '${KEY_NAME}': 1,
      auth: { apiKeys: ['one', 'literal'] },
      n: 3,
      on: true,
      none: null,
    });
  });

  it('collects every missing variable with the path of its value', () => {
    const tree = {
      auth: { apiKeys: ['${PROXY_KEY}'], adminToken: '${ADMIN_TOKEN}' },
      providers: [{ name: 'a' }, { apiKey: '${OPENAI_API_KEY}' }],
      condense: { models: { 'gpt-4o': { summarizerModel: '${SUMMARIZER}' } } },
    };
    expect(interpolate(tree, {}).problems).toEqual([
      { path: 'auth.apiKeys[0]', message: 'environment variable PROXY_KEY is not set' },
      { path: 'auth.adminToken', message: 'environment variable ADMIN_TOKEN is not set' },
      { path: 'providers[1].apiKey', message: 'environment variable OPENAI_API_KEY is not set' },
      {
        path: 'condense.models["gpt-4o"].summarizerModel',
        message: 'environment variable SUMMARIZER is not set',
      },
    ]);
  });

  it('leaves its input untouched', () => {
    const tree = { a: ['${X}'] };
    interpolate(tree, { X: 'y' });
    expect(tree).toEqual({ a: ['${X}'] });
  });

  it('keeps a "__proto__" key as an own key instead of changing the prototype', () => {
    const tree = JSON.parse('{"__proto__": {"polluted": "${X}"}}') as unknown;
    const { value } = interpolate(tree, { X: 'y' });
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value as object)).toEqual(['__proto__']);
  });
});
