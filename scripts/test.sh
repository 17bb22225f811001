#!/bin/sh
# The whole test suite, from a fresh Debian machine with the Rust toolchain:
# installs the real peers (OpenSSH, nginx, dnsmasq, nftables, Prometheus, Chromium,
# Alertmanager, systemd-analyze, rpm, man-db, pyhanko-certvalidator) and the
# test runner (cargo-nextest), then runs every test, and builds, installs and
# purges the .deb (tests/package/check.sh). Run as root: the network tests
# build their own namespaces. With CI set (the default here) a missing peer or
# privilege fails the run instead of skipping.
#
# One test:    cargo nextest run -E 'test(soak_of_2000)'   (or cargo test NAME)
# One group:   cargo nextest run -E 'binary(peers)'         (.config/nextest.toml)
# Heavy tests: cargo nextest run -E 'binary(scale) | binary(crl_scale)'
# The lab self-test runs when tests/lab/ changed since its last pass
# (tests/lab/selftest.sha256), or with LAB_SELFTEST=1.
set -eu
cd "$(dirname "$0")/.."
export CI="${CI:-1}"
t0=$(date +%s)
step() {
	now=$(date +%s)
	echo "== $1 ($((now - t0)) s since start)"
}
step "install"
./scripts/install-deps.sh
step "format"
cargo fmt --check
# The kinds' folders are declared by the kinds! macro, which rustfmt does
# not expand: they are checked from their own roots.
rustfmt --edition 2024 --check src/kinds/*/mod.rs
step "clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
step "tests"
rm -f target/test-skips.txt
# One process per test, many at a time (.config/nextest.toml): a hung test
# is named every minute and killed after ten; JUnit in
# target/nextest/ci/junit.xml.
cargo nextest run --locked --workspace --all-targets --profile ci
step "deploy check"
if [ -x tests/deploy/check.sh ]; then tests/deploy/check.sh; fi
step "package check"
# The packages are made from the test build's binary: one compile for all.
PACKAGE_BINARY="$(pwd)/target/debug/flowprobe" tests/package/check.sh
lab_hash=$(find tests/lab -type f ! -name selftest.sha256 -print0 | sort -z |
	xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
if [ "${LAB_SELFTEST:-}" = 1 ] || [ "$lab_hash" != "$(cat tests/lab/selftest.sha256 2>/dev/null)" ]; then
	step "lab self-test"
	tests/lab/selftest.sh
	echo "$lab_hash" > tests/lab/selftest.sha256
else
	echo "== lab self-test skipped: tests/lab/ is unchanged since its last passing self-test (LAB_SELFTEST=1 runs it)"
fi
if [ -s target/test-skips.txt ]; then
	echo "SKIPPED $(wc -l < target/test-skips.txt) test(s): $(paste -sd';' target/test-skips.txt)"
fi
step "all tests passed"
