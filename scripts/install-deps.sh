#!/bin/sh
# Installs every Debian package the test suite and the lab need, once.
# Run as root. The packages' own services (sshd, nginx, prometheus, ...) are
# kept from starting: tests start their own instances on loopback or inside
# network namespaces they create.
set -eu
PKGS="iproute2 nftables openssh-server openssh-client nginx-light dnsmasq-base
openssl ca-certificates curl python3 procps bind9-dnsutils prometheus prometheus-alertmanager
systemd rpm man-db binutils dpkg-dev chromium chromium-driver faketime gnutls-bin
sslscan nmap dropbear-bin tinysshd"
# The test runner of scripts/test.sh, pinned (compiled once when missing).
command -v cargo-nextest >/dev/null 2>&1 ||
	cargo install --locked cargo-nextest --version 0.9.143
# The second independent RFC 5280 oracle (with policy processing) of the
# Federal PKI lab test, pinned; from PyPI, once.
if ! python3 -c 'import pyhanko_certvalidator' 2>/dev/null; then
	python3 -m pip install --quiet --disable-pip-version-check 'pyhanko-certvalidator==0.33.0' ||
		python3 -m pip install --quiet --disable-pip-version-check --break-system-packages \
			'pyhanko-certvalidator==0.33.0'
fi
# The SSH scanner flowprobe's algorithm lists are compared with
# (tests/peers/scanners.rs), pinned; from PyPI, once.
if ! python3 -c 'import ssh_audit' 2>/dev/null; then
	python3 -m pip install --quiet --disable-pip-version-check 'ssh-audit==3.3.0' ||
		python3 -m pip install --quiet --disable-pip-version-check --break-system-packages \
			'ssh-audit==3.3.0'
fi
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
export DEBIAN_FRONTEND=noninteractive
policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy=1
fi
trap '[ -z "$policy" ] || rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
