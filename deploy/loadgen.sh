#!/bin/sh
# Demo traffic for `docker-compose --profile demo up`: a mix that lights up every dashboard
# panel. Unique prompts (cache misses), a repeated prompt (cache hits), streams, streams the
# client abandons (client_gone cancellations), unknown models (404), embeddings and model
# listings. Runs in curlimages/curl (busybox sh). PROXY_URL defaults to http://proxy:8080.
set -u
URL="${PROXY_URL:-http://proxy:8080}"
PAUSE="${LOADGEN_PAUSE_SECONDS:-0.2}"

post() {
  # $1 path, $2 JSON body, remaining args go to curl. Prints the HTTP status.
  path="$1"
  body="$2"
  shift 2
  curl -sS -o /dev/null -w '%{http_code}' -H 'content-type: application/json' "$@" \
    "$URL$path" -d "$body" 2>/dev/null
}

chat() {
  printf '{"model":"%s","stream":%s,"messages":[{"role":"user","content":"%s"}]}' "$1" "$2" "$3"
}

echo "loadgen: waiting for $URL/readyz"
until curl -fsS -o /dev/null "$URL/readyz" 2>/dev/null; do sleep 1; done
echo "loadgen: sending traffic"

i=0
ok=0
failed=0
while true; do
  i=$((i + 1))
  for status in \
    "$(post /v1/chat/completions "$(chat gpt-4o-mini false "question number $i")")" \
    "$(post /v1/chat/completions "$(chat gpt-4o-mini false "What does llm-proxy do?")")" \
    "$(post /v1/chat/completions "$(chat gpt-4o-mini true "stream number $i")" -N)"; do
    case "$status" in
      2??) ok=$((ok + 1)) ;;
      *) failed=$((failed + 1)) ;;
    esac
  done
  # Give up on a stream after 30ms: the proxy should cancel the upstream call.
  post /v1/chat/completions "$(chat gpt-4o-mini true "abandoned stream $i")" -N --max-time 0.03 >/dev/null
  if [ $((i % 10)) -eq 0 ]; then
    post /v1/chat/completions "$(chat no-such-model false "hello")" >/dev/null
    post /v1/embeddings '{"model":"gpt-4o-mini","input":"embed me"}' >/dev/null
    curl -sS -o /dev/null "$URL/v1/models" 2>/dev/null
  fi
  if [ $((i % 50)) -eq 0 ]; then
    echo "loadgen: $i rounds, $ok ok, $failed failed"
  fi
  sleep "$PAUSE"
done
