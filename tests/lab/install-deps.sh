#!/bin/sh
# Debian packages the lab (lab.sh) and its self-test need. Run as root in CI
# before tests/lab/selftest.sh. dig (bind9-dnsutils) is optional: without it
# the self-test falls back to getent and cannot tell NXDOMAIN from other errors.
set -eu
PKGS="iproute2 nftables openssh-server openssh-client nginx-light dnsmasq-base openssl curl python3 procps bind9-dnsutils"
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
export DEBIAN_FRONTEND=noninteractive
# keep the packages' own services (host sshd, nginx on host port 80) from
# starting: the lab runs its own instances inside its namespaces only
policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy=1
fi
trap '[ -z "$policy" ] || rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
