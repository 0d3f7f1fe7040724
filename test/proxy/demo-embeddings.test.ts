/**
 * The built-in demo's embeddings through the official OpenAI SDK, as a newcomer runs them
 * after `npm start`: the SDK asks for `encoding_format: "base64"` by default and decodes
 * little-endian float32s, so the demo must answer in that encoding (and honour `dimensions`)
 * or the client gets a short vector of zeros.
 */
import { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoConfigInput } from '../../src/config/defaults.js';
import { startProxy, type RunningProxy } from '../support/proxy.js';

let proxy: RunningProxy;

beforeAll(async () => {
  proxy = await startProxy(demoConfigInput());
});
afterAll(async () => {
  await proxy.stop();
});

describe('demo embeddings through the OpenAI SDK', () => {
  it("decode the SDK's default base64 answer to the configured length, not zeros", async () => {
    const res = await proxy.client.embeddings.create({ model: 'demo-embed', input: 'hello' });
    const vector = res.data[0]!.embedding;
    expect(vector).toHaveLength(16);
    expect(vector.some((v) => v !== 0)).toBe(true);
    expect(vector.every((v) => v >= -1 && v <= 1)).toBe(true);
  });

  it('answer the same vector as floats and as base64, to float32 precision', async () => {
    const input = ['one', 'two'];
    const asBase64 = await proxy.client.embeddings.create({ model: 'demo-embed', input });
    const asFloat = await proxy.client.embeddings.create({
      model: 'demo-embed',
      input,
      encoding_format: 'float',
    });
    expect(asFloat.data).toHaveLength(2);
    for (const [i, item] of asFloat.data.entries()) {
      const decoded = asBase64.data[i]!.embedding;
      expect(decoded).toHaveLength(item.embedding.length);
      item.embedding.forEach((v, j) => expect(decoded[j]).toBeCloseTo(v, 6));
    }
    expect(asFloat.data[0]!.embedding).not.toEqual(asFloat.data[1]!.embedding);
  });

  it('honour dimensions in both encodings', async () => {
    const params = { model: 'demo-embed', input: 'hello', dimensions: 256 };
    const decoded = await proxy.client.embeddings.create(params);
    expect(decoded.data[0]!.embedding).toHaveLength(256);
    const floats = await proxy.client.embeddings.create({ ...params, encoding_format: 'float' });
    expect(floats.data[0]!.embedding).toEqual(
      decoded.data[0]!.embedding.map((v) => expect.closeTo(v, 6) as unknown),
    );
    // Asked for explicitly, base64 reaches the caller as the string: 4 bytes per value.
    const raw = await proxy.client.embeddings.create({ ...params, encoding_format: 'base64' });
    const text = raw.data[0]!.embedding as unknown as string;
    expect(Buffer.from(text, 'base64')).toHaveLength(256 * 4);
  });

  it('refuse dimensions above its maximum with a 400 naming the param', async () => {
    const err = await proxy.client.embeddings
      .create({ model: 'demo-embed', input: 'hello', dimensions: 5000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(400);
    expect((err as APIError).param).toBe('dimensions');
  });
});
