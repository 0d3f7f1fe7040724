#!/usr/bin/env bash
# Validates the Prometheus side of llm-proxy: both configs (which also load the rule files),
# the rules, their unit tests, and that every alert's runbook_url anchor is a heading in
# docs/runbook.md. Needs promtool (Debian/Ubuntu: apt-get install prometheus).
# Usage: prometheus/check.sh   (from any directory)
set -euo pipefail
cd "$(dirname "$0")/.."

PROMTOOL="${PROMTOOL:-promtool}"
if ! command -v "$PROMTOOL" >/dev/null 2>&1; then
  echo "promtool not found: install it (apt-get install prometheus) or set PROMTOOL" >&2
  exit 2
fi

"$PROMTOOL" check config prometheus.yml
"$PROMTOOL" check config prometheus/prometheus.ci.yml
"$PROMTOOL" check rules prometheus/rules/*.yml
"$PROMTOOL" test rules prometheus/tests/*.yml

# GitHub anchors are the heading text lower-cased, spaces to dashes, punctuation dropped.
anchors="$(grep -E '^#{1,6} ' docs/runbook.md | sed -E 's/^#+ +//' | tr '[:upper:]' '[:lower:]' |
  sed -E 's/[^a-z0-9 _-]//g; s/ /-/g')"
missing=0
while read -r anchor; do
  if ! grep -qxF "$anchor" <<<"$anchors"; then
    echo "runbook_url anchor #$anchor has no heading in docs/runbook.md" >&2
    missing=1
  fi
done < <(grep -oE 'runbook\.md#[a-z0-9_-]+' prometheus/rules/alerts.yml | sed 's/.*#//' | sort -u)
alerts="$(grep -cE '^ +- alert: ' prometheus/rules/alerts.yml)"
urls="$(grep -cE '^ +runbook_url: ' prometheus/rules/alerts.yml)"
if [ "$alerts" != "$urls" ]; then
  echo "$alerts alerts but $urls runbook_url annotations in prometheus/rules/alerts.yml" >&2
  missing=1
fi
[ "$missing" = 0 ] && echo "runbook: every alert links to an existing heading"
exit "$missing"
