import { describe, expect, it } from 'vitest';
import { ConfigError, formatPath, isWithin } from './errors.js';

describe('formatPath', () => {
  it('writes keys with dots, indexes in brackets and odd keys quoted', () => {
    expect(formatPath(['providers', 1, 'baseUrl'])).toBe('providers[1].baseUrl');
    expect(formatPath(['condense', 'models', 'gpt-4o', 'maxTokens'])).toBe(
      'condense.models["gpt-4o"].maxTokens',
    );
    expect(formatPath(['tasks', 'http/request'])).toBe('tasks["http/request"]');
    expect(formatPath([])).toBe('(root)');
  });
});

describe('isWithin', () => {
  it('matches the path itself and paths below it, not siblings sharing a prefix', () => {
    expect(isWithin('auth.apiKeys[0]', 'auth.apiKeys[0]')).toBe(true);
    expect(isWithin('auth.apiKeys[0].x', 'auth.apiKeys[0]')).toBe(true);
    expect(isWithin('auth.apiKeys[10]', 'auth.apiKeys[1]')).toBe(false);
    expect(isWithin('server.portal', 'server.port')).toBe(false);
  });
});

describe('ConfigError', () => {
  it('keeps the problems and prints one line per problem', () => {
    const problems = [
      { path: 'a', message: 'x' },
      { path: 'b[0]', message: 'y' },
    ];
    const error = new ConfigError(problems, 'configuration f.yaml');
    expect(error.problems).toEqual(problems);
    expect(error.message).toBe('invalid configuration f.yaml (2 problems):\na: x\nb[0]: y');
  });
});
