import { describe, expect, it } from 'vitest';
import { toolToCall, type ToolTurn } from './tool-choice.js';

const turn = (over: Partial<ToolTurn>): ToolTurn => ({
  choice: { kind: 'auto' },
  tools: ['lookup', 'get_weather'],
  afterToolResult: false,
  userText: 'hello',
  ...over,
});

describe('toolToCall', () => {
  it('under auto, calls a tool only when the user asks for one', () => {
    expect(toolToCall(turn({}))).toBeUndefined();
    expect(toolToCall(turn({ userText: 'use a tool please' }))).toBe('lookup');
    expect(toolToCall(turn({ userText: 'what does get_weather say' }))).toBe('get_weather');
  });

  it('under auto, answers in text after a tool result, so an agent loop ends', () => {
    expect(toolToCall(turn({ userText: 'use the tool', afterToolResult: true }))).toBeUndefined();
  });

  it('calls a tool whenever required or named, as the real APIs do', () => {
    expect(toolToCall(turn({ choice: { kind: 'required' } }))).toBe('lookup');
    expect(toolToCall(turn({ choice: { kind: 'required' }, userText: 'get_weather' }))).toBe(
      'get_weather',
    );
    const named = turn({ choice: { kind: 'named', name: 'get_weather' }, afterToolResult: true });
    expect(toolToCall(named)).toBe('get_weather');
  });

  it('never calls one under none, or with no tools declared', () => {
    expect(
      toolToCall(turn({ choice: { kind: 'none' }, userText: 'use the tool' })),
    ).toBeUndefined();
    expect(toolToCall(turn({ tools: [], userText: 'use the tool' }))).toBeUndefined();
  });
});
