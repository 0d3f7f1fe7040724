import { describe, expect, it } from 'vitest';
import { SchemaValueError, minimalValue, strictSchemaProblem } from './schema-value.js';

describe('minimalValue', () => {
  it('fills every required property with its type, and leaves optional ones out', () => {
    const schema = {
      type: 'object',
      properties: {
        name: { type: 'string' },
        age: { type: 'integer' },
        score: { type: 'number' },
        ok: { type: 'boolean' },
        nothing: { type: 'null' },
        note: { type: 'string' },
      },
      required: ['name', 'age', 'score', 'ok', 'nothing'],
    };
    expect(minimalValue(schema)).toEqual({
      name: 'fake',
      age: 0,
      score: 0,
      ok: false,
      nothing: null,
    });
  });

  it('takes enums and consts, and a non-null branch of anyOf or a type list', () => {
    expect(minimalValue({ enum: ['red', 'green'] })).toBe('red');
    expect(minimalValue({ const: 42 })).toBe(42);
    expect(minimalValue({ anyOf: [{ type: 'null' }, { type: 'integer', minimum: 3 }] })).toBe(3);
    expect(minimalValue({ type: ['null', 'string'] })).toBe('fake');
  });

  it('builds arrays of minItems items, and honours prefixItems', () => {
    expect(minimalValue({ type: 'array', items: { type: 'boolean' }, minItems: 2 })).toEqual([
      false,
      false,
    ]);
    expect(minimalValue({ type: 'array', items: { type: 'string' } })).toEqual([]);
    expect(minimalValue({ prefixItems: [{ type: 'integer' }, { const: 'b' }] })).toEqual([0, 'b']);
  });

  it('keeps strings and numbers within their bounds and formats', () => {
    expect(minimalValue({ type: 'string', minLength: 6 })).toBe('fakexx');
    expect(minimalValue({ type: 'string', maxLength: 2 })).toBe('fa');
    expect(minimalValue({ type: 'string', format: 'date-time' })).toBe('2024-01-01T00:00:00Z');
    expect(minimalValue({ type: 'string', format: 'email' })).toBe('fake@example.com');
    expect(minimalValue({ type: 'integer', minimum: 2.5 })).toBe(3);
    expect(minimalValue({ type: 'integer', exclusiveMinimum: 0 })).toBe(1);
    expect(minimalValue({ type: 'number', exclusiveMinimum: 0, maximum: 0.5 })).toBe(0.25);
    expect(minimalValue({ type: 'number', maximum: -4 })).toBe(-4);
  });

  it('follows $ref into $defs and definitions', () => {
    const schema = {
      type: 'object',
      properties: { a: { $ref: '#/$defs/point' }, b: { $ref: '#/definitions/flag' } },
      required: ['a', 'b'],
      $defs: { point: { type: 'object', properties: { x: { type: 'number' } }, required: ['x'] } },
      definitions: { flag: { type: 'boolean' } },
    };
    expect(minimalValue(schema)).toEqual({ a: { x: 0 }, b: false });
  });

  it('refuses a $ref it cannot resolve and a schema that requires itself forever', () => {
    expect(() => minimalValue({ $ref: '#/$defs/missing' })).toThrow(SchemaValueError);
    const loop = { type: 'object', properties: { next: { $ref: '#' } }, required: ['next'] };
    expect(() => minimalValue(loop)).toThrow(/too deep/);
  });
});

describe('strictSchemaProblem', () => {
  const strict = {
    type: 'object',
    properties: { a: { type: 'string' }, b: { type: 'array', items: { $ref: '#/$defs/c' } } },
    required: ['a', 'b'],
    additionalProperties: false,
    $defs: {
      c: {
        type: 'object',
        properties: { d: { type: 'integer' } },
        required: ['d'],
        additionalProperties: false,
      },
    },
  };

  it('accepts a schema strict mode allows', () => {
    expect(strictSchemaProblem('s', strict)).toBeUndefined();
  });

  it('names a property missing from required, with its context', () => {
    const loose = structuredClone(strict) as typeof strict & {
      $defs: { c: { properties: Record<string, unknown> } };
    };
    loose.$defs.c.properties['e'] = { type: 'string' };
    expect(strictSchemaProblem('s', loose)).toBe(
      "Invalid schema for response_format 's': In context=('$defs', 'c'), 'required' is required to be supplied and to be an array including every key in properties. Missing 'e'.",
    );
  });

  it('requires additionalProperties: false on every object', () => {
    const { additionalProperties: _a, ...open } = strict;
    expect(strictSchemaProblem('s', open)).toBe(
      "Invalid schema for response_format 's': In context=(), 'additionalProperties' is required to be supplied and to be false.",
    );
  });
});
