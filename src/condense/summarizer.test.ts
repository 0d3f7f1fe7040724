import { describe, expect, it } from 'vitest';
import { condenseSchema } from '../config/schema.js';
import { condensedModels, summarizeBy, summaryText } from './summarizer.js';

describe('the summariser', () => {
  it("reads the summary from the first choice's message text", () => {
    const body = JSON.stringify({ choices: [{ message: { content: 'the gist' } }] });
    expect(summaryText(body)).toBe('the gist');
  });

  it('refuses an answer without text', () => {
    const body = JSON.stringify({ choices: [{ message: { content: null } }] });
    expect(() => summaryText(body)).toThrow('the summariser answered without text');
    expect(() => summaryText('{}')).toThrow('the summariser answered without text');
  });

  it('asks the summariser model at temperature 0, passing the caller context along', async () => {
    const asked: unknown[] = [];
    const summarize = summarizeBy(async (request, context) => {
      asked.push(request, context);
      return JSON.stringify({ choices: [{ message: { content: 'short' } }] });
    });
    const messages = [{ role: 'user' as const, content: 'long' }];
    const text = await summarize({ model: 'small', messages }, new AbortController().signal, 7);
    expect(text).toBe('short');
    expect(asked).toEqual([{ model: 'small', messages, temperature: 0 }, 7]);
  });

  it("fills each model's keepRecent and summariser from the section when it has none", () => {
    const config = condenseSchema.parse({
      summarizerModel: 'small',
      keepRecent: 4,
      models: {
        a: { maxTokens: 100 },
        b: { maxTokens: 200, keepRecent: 2, summarizerModel: 'b-sum' },
      },
    });
    expect(condensedModels(config)).toEqual({
      a: { maxTokens: 100, keepRecent: 4, summarizerModel: 'small', onFailure: 'truncate' },
      b: { maxTokens: 200, keepRecent: 2, summarizerModel: 'b-sum', onFailure: 'truncate' },
    });
  });
});
