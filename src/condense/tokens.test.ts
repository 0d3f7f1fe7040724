import { beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from './tokens.js';
import { countMessageTokens, createTokenCounter, IMAGE_TOKENS, tokenUpperBound } from './tokens.js';
import type { ChatMessage } from './types.js';

beforeAll(loadTokenizer);

// The sample conversation of OpenAI's cookbook "How to count tokens with tiktoken", for
// which the OpenAI API reports 124 prompt tokens on gpt-4o / gpt-4o-mini.
const COOKBOOK: ChatMessage[] = [
  {
    role: 'system',
    content:
      'You are a helpful, pattern-following assistant that translates corporate jargon into plain English.',
  },
  {
    role: 'system',
    name: 'example_user',
    content: 'New synergies will help drive top-line growth.',
  },
  {
    role: 'system',
    name: 'example_assistant',
    content: 'Things working well together will increase revenue.',
  },
  {
    role: 'system',
    name: 'example_user',
    content:
      "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage.",
  },
  {
    role: 'system',
    name: 'example_assistant',
    content: "Let's talk later when we're less busy about how to do better.",
  },
  {
    role: 'user',
    content:
      "This late pivot means we don't have time to boil the ocean for the client deliverable.",
  },
];

const JAPANESE = 'こんにちは、今日はとても良い天気ですね。散歩に行きましょう。';
const RUSSIAN = 'Привет! Расскажи, пожалуйста, как работает кэширование сводок в прокси-сервере.';

const charsOver4 = (text: string): number => Math.ceil(text.length / 4);

describe('countMessageTokens', () => {
  it('matches the 124 tokens OpenAI reports for the cookbook conversation on gpt-4o', () => {
    expect(countMessageTokens(COOKBOOK)).toBe(124);
  });

  it('counts 3 per message, the role, the content and 3 for reply priming', () => {
    // 3 framing + 1 ("user") + 4 ("Hello, world!") + 3 priming
    expect(countMessageTokens([{ role: 'user', content: 'Hello, world!' }])).toBe(11);
    expect(countMessageTokens([])).toBe(3);
  });

  it('adds the tokens of a name plus one', () => {
    expect(countMessageTokens([{ role: 'user', name: 'alice', content: 'Hello, world!' }])).toBe(
      13,
    );
  });

  it('uses the real tokenizer, not chars/4, for non-English text', () => {
    // Minus the 7 tokens of framing, role and priming: the o200k_base count of the text.
    const textTokens = (text: string): number =>
      countMessageTokens([{ role: 'user', content: text }]) - 7;
    expect(textTokens(JAPANESE)).toBe(19);
    expect(charsOver4(JAPANESE)).toBe(8);
    expect(textTokens(RUSSIAN)).toBe(25);
    expect(charsOver4(RUSSIAN)).toBe(20);
  });

  it('counts tool call names and arguments, and tool result ids', () => {
    const call: ChatMessage = {
      role: 'assistant',
      content: null,
      tool_calls: [
        {
          id: 'call_1',
          type: 'function',
          function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
        },
      ],
    };
    // 3 + 1 ("assistant") + 3 per call + 2 ("get_weather") + 5 (arguments) + 3 priming
    expect(countMessageTokens([call])).toBe(17);
    // 3 + 1 ("tool") + 2 ("Weather?") + 3 ("call_1") + 3 priming
    expect(
      countMessageTokens([{ role: 'tool', tool_call_id: 'call_1', content: 'Weather?' }]),
    ).toBe(12);
  });

  it('charges image parts a fixed cost by detail and counts text parts', () => {
    const withImage = (detail: 'low' | 'high'): ChatMessage[] => [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in this picture?' },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail } },
        ],
      },
    ];
    expect(countMessageTokens(withImage('low'))).toBe(3 + 1 + 6 + IMAGE_TOKENS.low + 3);
    expect(countMessageTokens(withImage('high'))).toBe(3 + 1 + 6 + IMAGE_TOKENS.high + 3);
  });

  it('counts custom tool calls and the legacy function_call like function calls', () => {
    const args = { name: 'get_weather', text: '{"city":"Paris"}' };
    const custom: ChatMessage = {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'call_1', type: 'custom', custom: { name: args.name, input: args.text } }],
    };
    const legacy: ChatMessage = {
      role: 'assistant',
      content: null,
      function_call: { name: args.name, arguments: args.text },
    };
    // As for the function call above: 3 + 1 + 3 + 2 + 5 + 3.
    expect(countMessageTokens([custom])).toBe(17);
    expect(countMessageTokens([legacy])).toBe(17);
    // 3 + 1 ("function") + 2 ("Weather?") + 2 ("get_weather") + 1 for the name + 3 priming
    const result: ChatMessage = { role: 'function', name: args.name, content: 'Weather?' };
    expect(countMessageTokens([result])).toBe(12);
  });

  it('counts refusal text, and audio, files and unknown parts like a high-detail image', () => {
    const refused: ChatMessage[] = [
      { role: 'assistant', content: [{ type: 'refusal', refusal: 'Weather?' }] },
    ] as unknown as ChatMessage[];
    expect(countMessageTokens(refused)).toBe(3 + 1 + 2 + 3);
    const other = [
      {
        role: 'user',
        content: [
          { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } },
          { type: 'file', file: { file_id: 'f' } },
          { type: 'input_video', input_video: { url: 'v' } },
        ],
      },
      { role: 'assistant', tool_calls: [{ id: 'c', type: 'mcp', mcp: { q: 'x' } }] },
    ] as unknown as ChatMessage[];
    expect(countMessageTokens(other.slice(0, 1))).toBe(3 + 1 + 3 * IMAGE_TOKENS.high + 3);
    // An unknown call: its type as the name, its payload's JSON as the input.
    expect(countMessageTokens(other.slice(1))).toBeGreaterThan(3 + 1 + 3 + 3);
  });

  it('counts special-token text as plain text instead of throwing', () => {
    expect(countMessageTokens([{ role: 'user', content: 'hi <|endoftext|> there' }])).toBe(
      3 + 1 + 9 + 3,
    );
  });
});

describe('tokenUpperBound', () => {
  it('is never below the exact count, for ASCII, Cyrillic, CJK, emoji, tools, images, refusals', () => {
    const samples: ChatMessage[][] = [
      COOKBOOK,
      [{ role: 'user', content: JAPANESE }],
      [{ role: 'user', content: RUSSIAN }],
      [{ role: 'user', name: 'bob', content: '🎉🎉🎉 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 龘龘龘' }],
      [
        {
          role: 'assistant',
          tool_calls: [
            { id: 'c', type: 'function', function: { name: 'f', arguments: '{"a":[1,2,3]}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'c', content: 'ok' },
      ],
      [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
      [{ role: 'user', content: [{ type: 'refusal', refusal: `${JAPANESE} `.repeat(200) }] }],
      [
        {
          role: 'assistant',
          tool_calls: [{ id: 'c', type: 'custom', custom: { name: 'sql', input: RUSSIAN } }],
          function_call: { name: 'f', arguments: JAPANESE },
        },
        { role: 'function', name: 'f', content: RUSSIAN },
      ],
    ];
    for (const s of samples)
      expect(tokenUpperBound(s)).toBeGreaterThanOrEqual(countMessageTokens(s));
  });
});

describe('createTokenCounter', () => {
  it('gives the same counts as countMessageTokens, encoding each message once', async () => {
    let reads = 0;
    const counted: ChatMessage = {
      role: 'user',
      get content() {
        reads++;
        return 'Hello, world!';
      },
    };
    const { measure, count } = createTokenCounter();
    await measure([counted, ...COOKBOOK], new AbortController().signal);
    await measure([counted], new AbortController().signal);
    expect(count([counted, ...COOKBOOK])).toBe(11 + 124 - 3);
    expect(count([counted])).toBe(11);
    expect(reads).toBe(1);
  });

  it('refuses to count a message it has not measured', () => {
    const { count } = createTokenCounter();
    expect(() => count([{ role: 'user', content: 'hi' }])).toThrow(/measure/);
  });
});
