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

  it('renders refusals, audio, files, unknown parts, custom and legacy calls, function results', () => {
    const messages = [
      {
        role: 'user',
        content: [
          { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } },
          { type: 'file', file: { file_id: 'f1', filename: 'q3.pdf' } },
          { type: 'input_video', input_video: { url: 'v' } },
        ],
      },
      { role: 'assistant', content: [{ type: 'refusal', refusal: 'I cannot.' }] },
      {
        role: 'assistant',
        tool_calls: [{ id: 'c2', type: 'custom', custom: { name: 'sql', input: 'SELECT 1' } }],
      },
      { role: 'assistant', function_call: { name: 'geo', arguments: '{}' } },
      { role: 'function', name: 'geo', content: 'Oslo' },
    ] as unknown as ChatMessage[];
    expect(renderTranscript(messages)).toBe(
      [
        'user: [audio]\n[file q3.pdf]\n[input_video]',
        'assistant: [refused: I cannot.]',
        'assistant called tool sql (c2) with SELECT 1',
        'assistant called tool geo with {}',
        'function result (geo): Oslo',
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
