# syntax=docker/dockerfile:1
# llm-proxy image: TypeScript is compiled in a build stage with dev dependencies; the runtime
# stage ships only dist/ and production dependencies and runs as the unprivileged `node` user.
#   docker build -t llm-proxy .
#   docker run -p 8080:8080 llm-proxy                       # embedded demo config
#   docker run -p 8080:8080 -v $PWD/my.yaml:/etc/llm-proxy/config.yaml:ro \
#     llm-proxy node dist/cli/index.js --config /etc/llm-proxy/config.yaml

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# HOST: inside a container the proxy must listen on all interfaces, not the 127.0.0.1 default.
# NODE_OPTIONS: a 4 MB semi-space (V8's default grows to 16 MB) keeps ~25 MB off the RSS
# under load, for a CPU cost within this machine's noise (docs/operations.md, "Memory");
# npm start and bench:proxy use it too.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=4 \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
# Owned by root and read-only to the `node` user: the process cannot rewrite its own code.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8080
# The slim image has no curl; Node 20's global fetch does the probe.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/cli/index.js"]
