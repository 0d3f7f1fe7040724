import { beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from './tokens.js';
import { planCondensation, truncateToBudget } from './policy.js';
import type { ChatMessage, TokenCount } from './types.js';

beforeAll(loadTokenizer);

// A transparent counter: 1 for priming, plus 1 + content length per message (additive, like OpenAI's).
const count: TokenCount = (ms) =>
  1 + ms.reduce((n, m) => n + 1 + (typeof m.content === 'string' ? m.content.length : 0), 0);

const sys = (content: string): ChatMessage => ({ role: 'system', content });
const user = (content: string): ChatMessage => ({ role: 'user', content });
const assistant = (content: string): ChatMessage => ({ role: 'assistant', content });
const call = (id: string): ChatMessage => ({
  role: 'assistant',
  content: null,
  tool_calls: [{ id, type: 'function', function: { name: 'lookup', arguments: '{}' } }],
});
const result = (id: string, content: string): ChatMessage => ({
  role: 'tool',
  tool_call_id: id,
  content,
});

const x = (n: number): string => 'x'.repeat(n);

describe('planCondensation', () => {
  it('does nothing when the conversation is within budget', () => {
    const messages = [sys('be brief'), user('hi')];
    expect(planCondensation(messages, { maxTokens: 100, keepRecent: 1 }, count)).toEqual({
      action: 'none',
      tokens: 13,
    });
  });

  it('keeps leading system and developer messages verbatim and the last keepRecent messages', () => {
    const s = sys('rules');
    const d: ChatMessage = { role: 'developer', content: 'more rules' };
    const older = [user(x(50)), assistant(x(50)), user(x(50))];
    const recent = [assistant('a'), user('q')];
    const plan = planCondensation(
      [s, d, ...older, ...recent],
      { maxTokens: 100, keepRecent: 2 },
      count,
    );
    expect(plan).toMatchObject({ action: 'summarize', system: [s, d], older, recent });
  });

  it('never separates an assistant tool call from its results', () => {
    const older = [user(x(80)), assistant(x(80))];
    const turn = [call('c1'), result('c1', 'r1'), result('c1', 'r2')];
    const messages = [sys('s'), ...older, user('look it up'), ...turn, user('and?')];
    // keepRecent 3 would start the recent part at a tool result: the whole turn comes along.
    const plan = planCondensation(messages, { maxTokens: 100, keepRecent: 3 }, count);
    expect(plan.action).toBe('summarize');
    if (plan.action !== 'summarize') return;
    expect(plan.recent).toEqual(turn.concat(user('and?')));
    expect(plan.older).toEqual([...older, user('look it up')]);
    expect(plan.older.some((m) => m.role === 'assistant' && m.tool_calls !== undefined)).toBe(
      false,
    );
  });

  it('keeps everything from the last user message verbatim even when keepRecent is smaller', () => {
    const tail = [
      user('run the tool'),
      call('c1'),
      result('c1', 'done'),
      assistant('ok, next'),
      call('c2'),
      result('c2', 'done'),
    ];
    const plan = planCondensation(
      [user(x(200)), ...tail],
      { maxTokens: 100, keepRecent: 1 },
      count,
    );
    expect(plan).toMatchObject({ action: 'summarize', older: [user(x(200))], recent: tail });
  });

  it('summarises everything before the last user message when keepRecent covers the whole conversation', () => {
    const messages = [user(x(60)), assistant(x(60)), user('latest')];
    const plan = planCondensation(messages, { maxTokens: 100, keepRecent: 50 }, count);
    expect(plan).toMatchObject({
      action: 'summarize',
      older: messages.slice(0, 2),
      recent: [user('latest')],
    });
  });

  it('reports too_long when the system prompt and the last user message alone exceed the budget', () => {
    const plan = planCondensation(
      [sys(x(60)), user(x(10)), user(x(60))],
      { maxTokens: 100, keepRecent: 1 },
      count,
    );
    expect(plan).toEqual({ action: 'too_long', tokens: 134, minimumTokens: 123 });
  });
});

describe('truncateToBudget', () => {
  it('returns the conversation unchanged when it fits', () => {
    const messages = [sys('s'), user('hi')];
    expect(truncateToBudget(messages, 100, count)).toEqual({ fits: true, messages, dropped: 0 });
  });

  it('drops the oldest messages after the system prompt until the conversation fits', () => {
    const messages = [
      sys('s'),
      user(x(40)),
      assistant(x(40)),
      user(x(10)),
      assistant(x(10)),
      user('q'),
    ];
    const cut = truncateToBudget(messages, 40, count);
    expect(cut).toEqual({
      fits: true,
      messages: [sys('s'), user(x(10)), assistant(x(10)), user('q')],
      dropped: 2,
    });
    if (cut.fits) expect(count(cut.messages)).toBeLessThanOrEqual(40);
  });

  it('drops a tool call together with all its results', () => {
    const messages = [sys('s'), call('c1'), result('c1', x(30)), result('c1', x(30)), user('q')];
    const cut = truncateToBudget(messages, 20, count);
    expect(cut).toEqual({ fits: true, messages: [sys('s'), user('q')], dropped: 3 });
  });

  it('drops a legacy function_call together with its function result', () => {
    const legacy: ChatMessage = {
      role: 'assistant',
      content: null,
      function_call: { name: 'lookup', arguments: '{}' },
    };
    const answer: ChatMessage = { role: 'function', name: 'lookup', content: x(30) };
    const cut = truncateToBudget([sys('s'), legacy, answer, user('q')], 20, count);
    expect(cut).toEqual({ fits: true, messages: [sys('s'), user('q')], dropped: 2 });
  });

  it('never drops the last user message or what follows it', () => {
    const tail = [user('q'), call('c1'), result('c1', x(30))];
    const cut = truncateToBudget([sys('s'), user(x(30)), ...tail], 50, count);
    expect(cut).toEqual({ fits: true, messages: [sys('s'), ...tail], dropped: 1 });
  });

  it('reports that even the system prompt and the last user message do not fit', () => {
    const cut = truncateToBudget([sys(x(50)), user(x(20)), user(x(50))], 60, count);
    expect(cut).toEqual({ fits: false, tokens: 124, minimumTokens: 103 });
  });
});
