/**
 * The floor for `npm run bench:proxy`: a bare pass-through proxy on node:http with a
 * keep-alive agent, no auth, no validation, no metrics. Whatever llm-proxy costs beyond
 * this is its own overhead.
 */
import { Agent, createServer, request } from 'node:http';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]!, process.argv[i + 1] ?? '');
const upstream = new URL(args.get('--upstream') ?? 'http://127.0.0.1:9001');
const port = Number(args.get('--port') ?? 0);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

const server = createServer((req, res) => {
  const up = request(
    {
      host: upstream.hostname,
      port: upstream.port,
      path: req.url,
      method: req.method,
      headers: req.headers,
      agent,
    },
    (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    },
  );
  up.on('error', () => res.destroy());
  res.on('close', () => up.destroy());
  req.pipe(up);
});
server.keepAliveTimeout = 5_000;
server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(
    `floor-proxy listening on ${typeof addr === 'object' && addr ? addr.port : port}\n`,
  );
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  agent.destroy();
});
