#!/usr/bin/env bash
# flowprobe benchmark (bench/README.md): one command, loopback only, bounded runs.
#
#   bench/run.sh            full run (all sizes, ~12 min)
#   bench/run.sh --quick    ~4 min (15 s CPU windows, 100k flows for 70 s)
#   bench/run.sh --only cpu,accuracy   a subset: floor,cpu,scale,accuracy,failmix
#   bench/run.sh --only failmix        the failure mix alone (~5 min; root: a namespace)
#
# Builds flowprobe (release) and bench/floor, installs
# prometheus-blackbox-exporter and nmap with apt-get if missing (a policy-rc.d
# guard keeps the package's service from starting), then runs bench/driver.py.
# Prints the table and writes bench/results/latest.md (+ latest.json);
# `--only failmix` writes bench/results/failmix.md (+ failmix.json).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

missing=""
command -v prometheus-blackbox-exporter >/dev/null || missing="$missing prometheus-blackbox-exporter"
command -v nmap >/dev/null || missing="$missing nmap"
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  guard_added=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    guard_added=1
  fi
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
  [ -z "$guard_added" ] || $SUDO rm -f /usr/sbin/policy-rc.d
fi
command -v openssl >/dev/null || { echo "openssl is required" >&2; exit 2; }

(cd "$ROOT" && cargo build --release --quiet)
# The failure mix alone needs neither the floor nor its proxy.
case " $* " in
  *" --only failmix "*) ;;
  *) (cd "$HERE/floor" && CARGO_TARGET_DIR="$HERE/floor/target" cargo build --release --quiet) ;;
esac

WORK="$(mktemp -d /tmp/flowprobe-bench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
python3 "$HERE/driver.py" bench \
  --flowprobe "$CARGO_TARGET_DIR/release/flowprobe" \
  --floor "$HERE/floor/target/release/flowprobe-floor" \
  --workdir "$WORK" "$@"
