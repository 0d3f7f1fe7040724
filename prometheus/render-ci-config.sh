#!/usr/bin/env bash
# Renders prometheus/prometheus.ci.yml for the CI end-to-end step: substitutes the scrape
# target and makes the rule path absolute, so the output can be written anywhere.
# Usage: prometheus/render-ci-config.sh HOST:PORT OUTPUT_FILE
set -euo pipefail
if [ "$#" -ne 2 ]; then
  echo "usage: $0 HOST:PORT OUTPUT_FILE" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
sed -e "s|__TARGET__|$1|" -e "s|^  - rules/\*\.yml$|  - $here/rules/*.yml|" \
  "$here/prometheus.ci.yml" >"$2"
