import { describe, expect, it } from 'vitest';
import { renderTranscript, summarizerMessages, summaryMessage, SUMMARY_PREFIX } from './prompt.js';
import type { ChatMessage } from './types.js';

describe('renderTranscript', () => {
  it('renders speakers, names, images, tool calls and tool results as plain text', () => {
    const messages: ChatMessage[] = [
      {
        role: 'user',
        name: 'ana',
        content: [
          { type: 'text', text: 'Is this Paris?' },
          { type: 'image_url', image_url: { url: 'https://example.com/p.png' } },
        ],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'geo', arguments: '{"q":"p.png"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'Paris, France' },
      { role: 'assistant', content: 'Yes, that is Paris.' },
    ];
    expect(renderTranscript(messages)).toBe(
      [
        'user (ana): Is this Paris?\n[image]',
        'assistant called tool geo (c1) with {"q":"p.png"}',
        'tool result (c1): Paris, France',
        'assistant: Yes, that is Paris.',
      ].join('\n\n'),
    );
  });
});

describe('summarizerMessages', () => {
  it('sends the transcript as one user message, so the summariser does not answer it', () => {
    const [system, user] = summarizerMessages([{ role: 'user', content: 'What time is it?' }]);
    expect(system?.role).toBe('system');
    expect(user).toEqual({
      role: 'user',
      content:
        'Summarise this conversation transcript.\n\n<transcript>\nuser: What time is it?\n</transcript>',
    });
  });
});

describe('summaryMessage', () => {
  it('is a system message carrying the trimmed summary after a fixed prefix', () => {
    expect(summaryMessage('  They met in May.\n')).toEqual({
      role: 'system',
      content: `${SUMMARY_PREFIX}They met in May.`,
    });
  });
});
