#!/bin/sh
# The lab's Debian packages (nftables, OpenSSH, nginx, dnsmasq, ...) are a
# subset of the test suite's: one list, in scripts/install-deps.sh.
set -eu
exec "$(dirname "$0")/../../scripts/install-deps.sh"
