import { describe, expect, it } from 'vitest';
import { modelsServed, orderCandidates, type CandidateInfo } from './ordering.js';

function provider(name: string, overrides: Partial<CandidateInfo> = {}): CandidateInfo {
  return {
    name,
    priority: 1,
    models: ['m'],
    enabled: true,
    health: 'healthy',
    breaker: 'closed',
    ...overrides,
  };
}

function order(...providers: CandidateInfo[]): string[] {
  return orderCandidates({ model: 'm', providers }).map((p) => p.name);
}

describe('orderCandidates: who is a candidate', () => {
  it('only enabled providers that serve the model', () => {
    expect(
      order(
        provider('a', { models: ['other'] }),
        provider('b', { enabled: false }),
        provider('c', { models: ['other', 'm'] }),
      ),
    ).toEqual(['c']);
  });

  it('returns nothing when no enabled provider serves the model', () => {
    expect(order(provider('a', { models: ['x'] }), provider('b', { enabled: false }))).toEqual([]);
  });

  it('a disabled provider stays out even when every other candidate is unusable', () => {
    expect(
      order(provider('off', { enabled: false }), provider('sick', { health: 'unhealthy' })),
    ).toEqual(['sick']);
  });

  it('drops unhealthy and breaker-open providers while another is usable', () => {
    expect(
      order(
        provider('sick', { health: 'unhealthy', priority: 0 }),
        provider('tripped', { breaker: 'open', priority: 0 }),
        provider('slow', { health: 'degraded', priority: 9 }),
      ),
    ).toEqual(['slow']);
  });

  it('keeps every candidate when none is usable, so something can still try', () => {
    expect(
      order(
        provider('tripped', { breaker: 'open', priority: 0 }),
        provider('sick-2', { health: 'unhealthy', priority: 2 }),
        provider('sick-1', { health: 'unhealthy', priority: 1 }),
      ),
    ).toEqual(['sick-1', 'sick-2', 'tripped']);
  });

  it('drops a provider cooling down after a rate limit while another is usable', () => {
    expect(
      order(
        provider('limited', { coolingDown: true, priority: 0 }),
        provider('slow', { health: 'degraded', priority: 9 }),
      ),
    ).toEqual(['slow']);
  });

  it('keeps providers cooling down when none is usable: the attempt refuses them unsent', () => {
    expect(
      order(
        provider('limited-2', { coolingDown: true, priority: 2 }),
        provider('limited-1', { coolingDown: true, priority: 1 }),
      ),
    ).toEqual(['limited-1', 'limited-2']);
  });

  it('keeps a half-open provider: its trial is how it recovers', () => {
    expect(order(provider('trial', { breaker: 'half_open' }))).toEqual(['trial']);
  });
});

describe('orderCandidates: order', () => {
  it('health tier first: healthy and unknown, then degraded', () => {
    expect(
      order(
        provider('degraded', { health: 'degraded', priority: 0 }),
        provider('unknown', { health: 'unknown', priority: 2 }),
        provider('healthy', { health: 'healthy', priority: 1 }),
      ),
    ).toEqual(['healthy', 'unknown', 'degraded']);
  });

  it('unknown health (not yet probed) ranks as healthy', () => {
    expect(
      order(provider('healthy', { priority: 2 }), provider('unknown', { health: 'unknown' })),
    ).toEqual(['unknown', 'healthy']);
  });

  it('then lower priority first', () => {
    expect(
      order(
        provider('p3', { priority: 3 }),
        provider('p1', { priority: 1 }),
        provider('p2', { priority: 2 }),
      ),
    ).toEqual(['p1', 'p2', 'p3']);
  });

  it('then config order for equal tier and priority (a stable sort)', () => {
    const names = ['e', 'b', 'd', 'a', 'c', 'f', 'h', 'g', 'j', 'i', 'l', 'k'];
    expect(order(...names.map((n) => provider(n)))).toEqual(names);
  });

  it('among all-unusable candidates: unhealthy before open breakers, each by priority', () => {
    expect(
      order(
        provider('open-healthy', { breaker: 'open', priority: 0 }),
        provider('open-sick', { breaker: 'open', health: 'unhealthy', priority: 1 }),
        provider('sick', { health: 'unhealthy', priority: 5 }),
      ),
    ).toEqual(['sick', 'open-healthy', 'open-sick']);
  });

  it('among all-unusable candidates: a cooldown ranks with open breakers, after unhealthy', () => {
    expect(
      order(
        provider('limited', { coolingDown: true, priority: 0 }),
        provider('sick', { health: 'unhealthy', priority: 5 }),
        provider('open', { breaker: 'open', priority: 1 }),
      ),
    ).toEqual(['sick', 'limited', 'open']);
  });

  it('does not reorder or change the input array', () => {
    const input = [provider('b', { priority: 2 }), provider('a', { priority: 1 })];
    orderCandidates({ model: 'm', providers: input });
    expect(input.map((p) => p.name)).toEqual(['b', 'a']);
  });

  it('carries extra fields of the caller through', () => {
    const input = [{ ...provider('a'), adapter: 42 }];
    const [first] = orderCandidates({ model: 'm', providers: input });
    expect(first?.adapter).toBe(42);
  });
});

describe('modelsServed', () => {
  it('lists each model of the enabled providers once, in order of first appearance', () => {
    expect(
      modelsServed([
        { models: ['gpt-4o-mini', 'shared'] },
        { models: ['hidden'], enabled: false },
        { models: ['shared', 'claude'], enabled: true },
      ]),
    ).toEqual(['gpt-4o-mini', 'shared', 'claude']);
  });

  it('includes models of unhealthy providers', () => {
    expect(modelsServed([provider('sick', { health: 'unhealthy', models: ['x'] })])).toEqual(['x']);
  });

  it('is empty without providers', () => {
    expect(modelsServed([])).toEqual([]);
  });
});
