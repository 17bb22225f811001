#!/bin/sh
# The whole test suite, from a fresh Debian machine with the Rust toolchain:
# installs the real peers (OpenSSH, nginx, dnsmasq, nftables, Prometheus, Chromium,
# Alertmanager, systemd-analyze, rpm, man-db), then runs every test, and
# builds, installs and purges the .deb (tests/package/check.sh). Run as root: the
# network tests build their own namespaces. With CI set (the default here) a
# missing peer or privilege fails the run instead of skipping.
set -eu
cd "$(dirname "$0")/.."
export CI="${CI:-1}"
./scripts/install-deps.sh
cargo fmt --check
cargo clippy --locked --workspace --all-targets -- -D warnings
# A hung test fails the run after 45 minutes, with libtest's "running for
# over 60 seconds" lines naming it, instead of holding CI to its limit.
timeout --kill-after=30s 45m cargo test --locked --all-targets
if [ -x tests/deploy/check.sh ]; then tests/deploy/check.sh; fi
tests/package/check.sh
tests/lab/selftest.sh
echo "all tests passed"
