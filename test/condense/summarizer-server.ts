/**
 * A tiny OpenAI Chat Completions server on loopback standing in for the summariser model,
 * and a `summarize` function that calls it over HTTP (what the app wires to its fallback
 * engine).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ChatMessage, Summarize } from '../../src/condense/index.js';

export type Mode = 'ok' | 'fail' | 'hang';

export interface SummarizerServer {
  readonly baseUrl: string;
  /** Bodies of the requests received, in order. */
  readonly requests: { model: string; messages: ChatMessage[] }[];
  /** Requests whose client went away before an answer. */
  readonly disconnects: number;
  mode: Mode;
  summary: string;
  /** Answers this long after a request arrives, as the mode was when it arrived. */
  delayMs: number;
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

export async function startSummarizerServer(): Promise<SummarizerServer> {
  const requests: SummarizerServer['requests'] = [];
  let disconnects = 0;
  const control = {
    mode: 'ok' as Mode,
    delayMs: 0,
    summary: 'The user is planning a trip to Paris in May and prefers trains.',
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = (await readJson(req)) as { model: string; messages: ChatMessage[] };
      requests.push(body);
      res.on('close', () => {
        if (!res.writableFinished) disconnects++;
      });
      const mode = control.mode;
      if (mode === 'hang') return;
      if (control.delayMs > 0) await new Promise((r) => setTimeout(r, control.delayMs));
      if (res.destroyed) return;
      if (mode === 'fail') {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: { message: 'boom', type: 'server_error', param: null, code: null },
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: body.model,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: control.summary },
              finish_reason: 'stop',
            },
          ],
          usage: { prompt_tokens: 100, completion_tokens: 15, total_tokens: 115 },
        }),
      );
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    get disconnects() {
      return disconnects;
    },
    get mode() {
      return control.mode;
    },
    set mode(m: Mode) {
      control.mode = m;
    },
    get summary() {
      return control.summary;
    },
    set summary(s: string) {
      control.summary = s;
    },
    get delayMs() {
      return control.delayMs;
    },
    set delayMs(ms: number) {
      control.delayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Calls the summariser server like an OpenAI client would. */
export function httpSummarize(baseUrl: string): Summarize {
  return async ({ model, messages }, signal) => {
    const res = await fetch(`${baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages }),
      signal,
    });
    if (!res.ok) throw new Error(`summariser answered ${res.status}`);
    const json = (await res.json()) as { choices: { message: { content: string } }[] };
    return json.choices[0]?.message.content ?? '';
  };
}

/** `llm_proxy_condense_total{result}` as a condenser's registry exposes it. */
export async function condenseTotal(registry: Registry, result: string): Promise<number> {
  const text = await registry.metrics();
  const m = new RegExp(`^llm_proxy_condense_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(text);
  if (m === null) throw new Error(`no llm_proxy_condense_total series for ${result}`);
  return Number(m[1]);
}
