#!/usr/bin/env bash
# The exposition's size per flow and a scrape of 300,000 flows (bench/metrics.py).
#
#   bench/metrics.sh                            size per flow, then 300k flows (~6 min)
#   bench/metrics.sh --only size                series and bytes per TCP and TLS flow (~1 min)
#   bench/metrics.sh --before /tmp/fp-old       also the sizes of an older build
#   bench/metrics.sh --only scrape --flows 100000
#
# Loopback only; builds flowprobe (release); writes bench/results/metrics.json.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
command -v openssl >/dev/null || { echo "openssl is required" >&2; exit 2; }
(cd "$ROOT" && cargo build --release --quiet)
WORK="$(mktemp -d /tmp/flowprobe-metrics.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
python3 "$HERE/metrics.py" --flowprobe "${FLOWPROBE_BIN:-$CARGO_TARGET_DIR/release/flowprobe}" \
  --workdir "$WORK" --out "$HERE/results/metrics.json" "$@"
