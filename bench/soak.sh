#!/bin/sh
# The long soak (docs/performance.md): 2,000 flows under scrapes, API and
# page readers and reloads for SOAK_SECS (default 180; the test suite runs
# the same test for 45 s). Root: it builds its own namespace. Bounded in
# time; removes what it made, also on failure.
#   bench/soak.sh [SECONDS]
set -eu
cd "$(dirname "$0")/.."
SOAK_SECS="${1:-180}" exec cargo test --release --test scale -- --exact \
	soak_of_2000_flows_under_scrapes_reloads_and_readers_stays_bounded --nocapture
