/* global AbortController, AbortSignal, console, fetch, process */
/**
 * Waits until a process started by leak-gate.sh is serving, failing fast when it died.
 *   node test/e2e/wait.js [--pid PID] [--timeout-ms N] http URL   (until URL answers 200)
 *   node test/e2e/wait.js [--pid PID] [--timeout-ms N] tcp PORT   (until 127.0.0.1:PORT accepts)
 *   node test/e2e/wait.js free-ports N                            (prints N distinct free ports)
 * One node process polls, so a wait costs one start-up, not one per probe.
 * Plain JS over dist/ (built by `npm test`): the gate needs no TypeScript runner.
 */
import { createConnection, createServer } from 'node:net';
import { sleep } from '../../dist/tasks/timers.js';

const forever = new AbortController().signal;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function tcpOpen(port) {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port }, () => {
      sock.end();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
  });
}

async function httpOk(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Holds all N listeners open at once so the ports are distinct, then releases them. */
async function freePorts(n) {
  const servers = [];
  for (let i = 0; i < n; i++) {
    const server = createServer();
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    servers.push(server);
  }
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

async function main(argv) {
  let pid;
  let timeoutMs = 30_000;
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--pid') pid = Number(argv[++i]);
    else if (argv[i] === '--timeout-ms') timeoutMs = Number(argv[++i]);
    else rest.push(argv[i]);
  }
  const [mode, target] = rest;
  if (mode === 'free-ports') {
    console.log((await freePorts(Number(target))).join(' '));
    return 0;
  }
  const probe =
    mode === 'http' ? () => httpOk(target) : mode === 'tcp' ? () => tcpOpen(Number(target)) : null;
  if (probe === null || target === undefined) {
    console.error('usage: wait.js [--pid PID] [--timeout-ms N] (http URL | tcp PORT)');
    return 2;
  }
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return 0;
    if (pid !== undefined && !alive(pid)) {
      console.error(`wait: process ${pid} exited before ${mode} ${target} was up`);
      return 1;
    }
    if (Date.now() > until) {
      console.error(`wait: ${mode} ${target} not up after ${timeoutMs} ms`);
      return 1;
    }
    await sleep(100, forever);
  }
}

process.exitCode = await main(process.argv.slice(2));
