#!/bin/sh
# Regenerates the status-page screenshots in docs/ (shown in the README):
# runs tests/status_page.rs, which drives headless Chromium against a daemon
# probing loopback servers, with STATUS_PAGE_SCREENSHOTS set. Needs chromium
# and chromium-driver (scripts/install-deps.sh).
set -eu
cd "$(dirname "$0")/.."
STATUS_PAGE_SCREENSHOTS="$(pwd)/docs" cargo test --locked --test status_page -- --nocapture
ls -l docs/status-*.png
