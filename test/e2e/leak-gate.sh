#!/usr/bin/env bash
# The CI leak gate, end to end, on loopback only: a real redis-server, two fake upstreams
# (fast and slow, so parallel races always have a loser), the built proxy and a real
# Prometheus loading the project's rules. Mixed traffic (races, streams, clients leaving
# mid-stream and mid-request, cache hits, embeddings, condensing, 4xx) must leave no leaked
# and, after a drain, no active task; every dashboard query and recording rule must return
# data. The proxy exports its traces to a loopback OTLP receiver (test/e2e/otlp-receiver.js):
# every every() loop run must arrive as its own finished span, and Prometheus (exemplar
# storage on, scraping OpenMetrics) must hold latency exemplars naming traces it received.
# Then the negative control: a provider that ignores cancellation must be reported by
# check-leaks and by the LlmProxyTaskLeaked alert, or the gate proves nothing.
#
# Usage: bash test/e2e/leak-gate.sh    (after `npm test`; builds dist/ if missing)
# Env: E2E_TRAFFIC_SECONDS (45), E2E_KEEP=1 keeps the work directory (logs, TSDB).
# Needs node, redis-server and prometheus on PATH. Exit 0 only when every check passed.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/llm-proxy-leak-gate.XXXXXX")"
declare -A PID_OF=()
STARTED=()
RESULTS=()
FAILED=0

log() { printf '\n[leak-gate %s] %s\n' "$(date +%T)" "$*"; }
pass() { RESULTS+=("PASS  $1"); echo "PASS: $1"; }
fail() {
  RESULTS+=("FAIL  $1")
  echo "FAIL: $1"
  FAILED=1
}
check() { # check NAME COMMAND...: runs COMMAND, records PASS/FAIL by its exit status
  local name="$1"
  shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}

# run COMMAND...: a foreground step, run in the background and waited for, so that a signal's
# trap runs at once (bash defers traps until a foreground command ends) and can kill it.
FG_PID=""
run() {
  "$@" &
  FG_PID=$!
  local code=0
  wait "$FG_PID" || code=$?
  FG_PID=""
  return "$code"
}

# start NAME COMMAND...: runs COMMAND in the background, output in $WORK/NAME.log.
start() {
  local name="$1"
  shift
  "$@" >"$WORK/$name.log" 2>&1 &
  PID_OF[$name]=$!
  STARTED+=("$name")
}

# stop NAME [SECONDS]: SIGTERM, then SIGKILL after SECONDS (10); sets STOP_CODE to its exit status.
STOP_CODE=0
stop() {
  local name="$1" grace="${2:-10}" pid="${PID_OF[$1]:-}"
  STOP_CODE=0
  [ -n "$pid" ] || return 0
  unset "PID_OF[$name]"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local waited=0
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt $((grace * 10)) ]; do
      sleep 0.1
      waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "leak-gate: $name (pid $pid) ignored SIGTERM for ${grace}s: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || STOP_CODE=$?
}

cleanup() {
  local code=$?
  trap - EXIT INT TERM
  local i
  if [ -n "$FG_PID" ]; then kill -TERM "$FG_PID" 2>/dev/null || true; fi
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do stop "${STARTED[$i]}" 5; done
  if [ "$code" -ne 0 ]; then
    for f in "$WORK"/*.log; do
      [ -f "$f" ] || continue
      echo "---- last lines of $(basename "$f")"
      tail -n 25 "$f"
    done
  fi
  if [ "${E2E_KEEP:-0}" = 1 ]; then echo "leak-gate: work directory kept: $WORK"; else rm -rf "$WORK"; fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() {
  echo "leak-gate: $*" >&2
  exit 1
}

for bin in node redis-server prometheus; do
  command -v "$bin" >/dev/null 2>&1 || die "$bin not found on PATH (Debian/Ubuntu: apt-get install redis-server prometheus)"
done
if [ ! -f dist/cli/index.js ]; then
  log "dist/cli/index.js missing: npm run build"
  npm run build --silent
fi
CLI=(node "$ROOT/dist/cli/index.js")
WAIT=(run node "$ROOT/test/e2e/wait.js")
PROMQL=(run node "$ROOT/test/e2e/promql.js")
TRAFFIC=(run node "$ROOT/test/e2e/traffic.js")

read -r REDIS_PORT FAST_PORT SLOW_PORT PROXY_PORT PROM_PORT OTLP_PORT <<<"$("${WAIT[@]}" free-ports 6)"
secret() { node -e 'process.stdout.write(require("node:crypto").randomBytes(12).toString("hex"))'; }
export E2E_PROXY_PORT="$PROXY_PORT" E2E_REDIS_PORT="$REDIS_PORT"
export E2E_FAST_URL="http://127.0.0.1:$FAST_PORT/v1" E2E_SLOW_URL="http://127.0.0.1:$SLOW_PORT/v1"
export E2E_API_KEY="e2e-$(secret)" E2E_ADMIN_TOKEN="e2e-admin-$(secret)"
export E2E_PROXY_URL="http://127.0.0.1:$PROXY_PORT"
PROXY="$E2E_PROXY_URL"
SPANS="$WORK/spans.jsonl"
# Tracing on, in the default protocol (http/protobuf), batches sent every second.
export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$OTLP_PORT" OTEL_SERVICE_NAME=llm-proxy-e2e
export OTEL_BSP_SCHEDULE_DELAY=1000
PROM="http://127.0.0.1:$PROM_PORT"

start_proxy() { # start_proxy NAME CONFIG
  start "$1" "${CLI[@]}" --config "$ROOT/test/e2e/$2"
  "${WAIT[@]}" --pid "${PID_OF[$1]}" --timeout-ms 20000 http "$PROXY/readyz" || die "$1 did not become ready"
}

check_leaks() { # check_leaks OUTPUT_FILE [--drain]: prints the output, returns check-leaks' code
  local out="$1" code=0
  shift
  run "${CLI[@]}" check-leaks --url "$PROXY" "$@" --admin-token "$E2E_ADMIN_TOKEN" --timeout-ms 10000 \
    >"$out" 2>&1 || code=$?
  sed 's/^/    /' "$out"
  return "$code"
}

redis_entries() { # response-cache entries the proxy's write-behind queue stored in Redis
  run node --input-type=module -e '
    import { Redis } from "ioredis";
    const redis = new Redis({
      host: "127.0.0.1",
      port: Number(process.argv[1]),
      lazyConnect: true,
      connectTimeout: 2000,
      commandTimeout: 2000,
      retryStrategy: () => null,
    });
    await redis.connect();
    let cursor = "0";
    let n = 0;
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", "e2e:v1:resp:*", "COUNT", 1000);
      cursor = next;
      n += keys.length;
    } while (cursor !== "0");
    redis.disconnect();
    process.stdout.write(String(n));' "$REDIS_PORT"
}

# ---------------------------------------------------------------- 1. services and the proxy
log "1. redis-server :$REDIS_PORT, fake upstreams fast :$FAST_PORT and slow :$SLOW_PORT, OTLP receiver :$OTLP_PORT, proxy :$PROXY_PORT"
start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK"
# fast: answers in 30 ms but streams 20 chunks 15 ms apart (a client can leave mid-stream)
# and fails 5% of calls (retries, 5xx outcomes); slow: 400 ms, so it loses every race.
start fast "${CLI[@]}" fake-upstream --port "$FAST_PORT" --name fast --latency-ms 30 \
  --stream-chunks 20 --chunk-delay-ms 15 --fail-rate 0.05 --seed 7
start slow "${CLI[@]}" fake-upstream --port "$SLOW_PORT" --name slow --latency-ms 400
start otlp node "$ROOT/test/e2e/otlp-receiver.js" serve "$OTLP_PORT" "$SPANS"
"${WAIT[@]}" --pid "${PID_OF[redis]}" --timeout-ms 10000 tcp "$REDIS_PORT" || die "redis-server did not start"
"${WAIT[@]}" --pid "${PID_OF[fast]}" --timeout-ms 10000 tcp "$FAST_PORT" || die "fake upstream fast did not start"
"${WAIT[@]}" --pid "${PID_OF[slow]}" --timeout-ms 10000 tcp "$SLOW_PORT" || die "fake upstream slow did not start"
"${WAIT[@]}" --pid "${PID_OF[otlp]}" --timeout-ms 10000 tcp "$OTLP_PORT" || die "the OTLP receiver did not start"
start_proxy proxy proxy.yaml
echo "proxy ready at $PROXY"

# ---------------------------------------------------------------- 2. Prometheus
log "2. prometheus :$PROM_PORT scraping $PROXY every 1s (OpenMetrics, exemplars kept), rules from prometheus/rules/"
bash prometheus/render-ci-config.sh "127.0.0.1:$PROXY_PORT" "$WORK/prometheus.yml"
start prometheus prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn --enable-feature=exemplar-storage
"${WAIT[@]}" --pid "${PID_OF[prometheus]}" --timeout-ms 30000 http "$PROM/-/ready" || die "prometheus did not become ready"
"${PROMQL[@]}" wait "$PROM" 'up{job="llm-proxy"} == 1' ||
  die "prometheus never scraped the proxy (up{job=\"llm-proxy\"})"
echo "target up"

# ---------------------------------------------------------------- 3. traffic
log "3. mixed traffic for ${E2E_TRAFFIC_SECONDS:-45}s"
check "traffic answered as expected" "${TRAFFIC[@]}"
entries="$(redis_entries || echo 0)"
if [ "$entries" -gt 0 ]; then pass "cache entries written behind to Redis ($entries)"; else
  fail "cache entries written behind to Redis (none under e2e:v1:resp:*)"
fi

# ---------------------------------------------------------------- 3b. traces and exemplars
log "3b. per-iteration loop spans at the OTLP receiver; latency exemplars in Prometheus"
check "every run of the cache cleanup and health loops arrives as its own finished span" \
  run node "$ROOT/test/e2e/otlp-receiver.js" loops "$SPANS" unified_cache/cleanup health_checker/loop
for metric in llm_proxy_http_request_duration_seconds_bucket llm_proxy_upstream_duration_seconds_bucket; do
  check "$metric has exemplars naming traces the receiver got" \
    "${PROMQL[@]}" exemplars "$PROM" "$metric" "$SPANS"
done

# While the loops still run: their series (loop panels) end with them at the drain.
BEFORE_DRAIN="$(date +%s)"

# ---------------------------------------------------------------- 4. leak check with drain
log "4. check-leaks --drain (must exit 0)"
if check_leaks "$WORK/check-leaks-positive.out" --drain; then
  pass "check-leaks --drain exits 0 after the traffic"
else
  fail "check-leaks --drain exits 0 after the traffic"
  echo "live tasks (GET /admin/tasks, first 4000 characters):"
  run node -e 'fetch(`${process.env.E2E_PROXY_URL}/admin/tasks`, {
      headers: { authorization: `Bearer ${process.env.E2E_ADMIN_TOKEN}` },
    }).then((r) => r.text()).then((t) => console.log(t.slice(0, 4000)), (e) => console.log(String(e)))' || true
fi

# ---------------------------------------------------------------- 5. every query returns data
log "5. dashboard queries, recording rules and traffic coverage against Prometheus"
sleep 3 # a few rule evaluations (1s interval) past the last scrape of the traffic
check "every dashboard query and recording rule returns data" "${PROMQL[@]}" check "$PROM" "$BEFORE_DRAIN"
check "alert LlmProxyTaskLeaked stays quiet after the clean run" \
  "${PROMQL[@]}" quiet "$PROM" LlmProxyTaskLeaked

stop proxy 20
if [ "$STOP_CODE" -eq 0 ]; then pass "proxy exits 0 on SIGTERM after a clean run"; else
  fail "proxy exits 0 on SIGTERM after a clean run (exit $STOP_CODE)"
fi

# ---------------------------------------------------------------- 6. negative control
log "6. negative control: a demo provider that ignores cancellation races a steady upstream"
start_proxy leaky-proxy proxy-leaky.yaml
# Scrapes of the new process (same target) before the leak, so the counter's rise is seen.
"${PROMQL[@]}" wait "$PROM" 'llm_proxy_provider_up{job="llm-proxy",provider="stubborn"}' ||
  fail "prometheus scrapes the restarted (leaky) proxy"
check "races against the stubborn provider are answered" "${TRAFFIC[@]}" --races 3
sleep 2 # the losers' 300 ms grace period, with a margin for a busy 2-core machine

names_leak() { grep -q 'fallback_engine/attempt' "$1"; }
for mode in "" --drain; do
  out="$WORK/check-leaks-negative${mode}.out"
  code=0
  check_leaks "$out" $mode || code=$?
  if [ "$code" -eq 1 ] && names_leak "$out"; then
    pass "check-leaks ${mode:-(no drain)} exits 1 naming fallback_engine/attempt"
  else
    fail "check-leaks ${mode:-(no drain)} exits 1 naming fallback_engine/attempt (exit $code)"
  fi
  if [ -z "$mode" ]; then
    log "6b. alert LlmProxyTaskLeaked must evaluate true in Prometheus"
    check "LlmProxyTaskLeaked expression is true and the alert is active" \
      "${PROMQL[@]}" alert "$PROM" LlmProxyTaskLeaked
  fi
done

stop leaky-proxy 20
if [ "$STOP_CODE" -eq 1 ]; then pass "leaky proxy exits 1 on SIGTERM (a task leaked)"; else
  fail "leaky proxy exits 1 on SIGTERM (a task leaked) (exit $STOP_CODE)"
fi

# ---------------------------------------------------------------- 7. summary
log "7. summary"
printf '  %s\n' "${RESULTS[@]}"
if [ "$FAILED" -ne 0 ]; then
  echo "leak gate FAILED"
  exit 1
fi
echo "leak gate passed: no leaks under mixed traffic, every query has data, the planted leak was caught"
