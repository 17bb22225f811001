#!/usr/bin/env bash
# flowprobe firewall verification lab: the DISA Jamf Pro EMM STIG Table 1-2
# topology in network namespaces. See tests/lab/README.md.
#
#   lab.sh up       [--id ID] [--dir DIR]
#   lab.sh down     [--id ID] [--dir DIR]
#   lab.sh scenario NAME [--id ID]
#   lab.sh scenarios
#   lab.sh env      [--id ID]
#   lab.sh status   [--id ID]
#   lab.sh exec     [--id ID] NAMESPACE CMD [ARG...]
#
# ID defaults to $FPLAB_ID or "lab". Everything an instance creates carries
# the prefix fp-<ID>-: namespaces fp-<ID>-{administrators,mobile-devices,
# mdm-server,apns,firewall} and /etc/netns/fp-<ID>-*/ (per-namespace
# resolv.conf and hosts). Traffic never leaves these namespaces: no interface
# of the host's namespace is created or touched.
set -euo pipefail

LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE_DIR=/run/flowprobe-lab
CACHE_ROOT=${FPLAB_CACHE:-/var/tmp/flowprobe-lab-cache}

NAMESPACES=(administrators mobile-devices mdm-server apns firewall)
VANTAGES=(administrators mobile-devices mdm-server)
SCENARIOS=(compliant admin-8443-dropped mobile-443-rejected mobile-ssh-open chain-without-cross stale-crl dns-nxdomain)

# ---- address plan (only ever assigned inside the lab's namespaces) --------
# 198.18.0.0/15 is the benchmarking range (RFC 2544): never routed publicly.
declare -A SUBNET=([administrators]=198.18.1 [mobile-devices]=198.18.2 [mdm-server]=198.18.3 [apns]=198.18.4)
declare -A FWIF=([administrators]=fw-adm [mobile-devices]=fw-mob [mdm-server]=fw-mdm [apns]=fw-apns)
DNS_IP=198.18.0.53           # on the firewall namespace's loopback
ADMIN_IP=198.18.1.10
MOBILE_IP=198.18.2.10
MDM_IP=198.18.3.10
APNS_IP=198.18.4.10

MDM_NAME=mdm.lab.test
APNS_COURIER_NAME=1-courier.push.lab.test
APNS_PROVIDER_NAME=api.push.lab.test
APNS_LEGACY_NAME=gateway.push.lab.test
CRL_BASE=http://$MDM_NAME/crl

# CA file stem -> CRL file name (as DISA names them on crl.disa.mil)
declare -A CRLNAME=([fcpca-g2]=FCPCAG2 [fbca-g4]=FBCAG4 [dod-interop-root-ca-2]=DODINTEROPERABILITYROOTCA2
	[dod-root-ca-3]=DODROOTCA3 [dod-sw-ca-66]=DODSWCA_66)
CAS=(fcpca-g2 fbca-g4 dod-interop-root-ca-2 dod-root-ca-3 dod-sw-ca-66)

ID=${FPLAB_ID:-lab}
DIR=
DIR_GIVEN=

log() { printf 'lab[%s]: %s\n' "$ID" "$*" >&2; }
die() { printf 'lab.sh: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
ns() { printf 'fp-%s-%s' "$ID" "$1"; }
nsx() { local n; n=$(ns "$1"); shift; ip netns exec "$n" "$@"; }
ns_exists() { [ -e "/run/netns/$(ns "$1")" ]; }
now_ms() { date +%s%3N; }

require_root() { [ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"; }

check_id() {
	[[ $ID =~ ^[a-z0-9]{1,12}$ ]] || die "invalid --id '$ID' (1-12 of a-z0-9)"
}

resolve_dir() {
	if [ -n "$DIR_GIVEN" ]; then
		DIR=$(realpath -m -- "$DIR_GIVEN")
	elif [ -f "$STATE_DIR/$ID" ]; then
		DIR=$(cat "$STATE_DIR/$ID")
	else
		DIR=/tmp/flowprobe-lab-$ID
	fi
}

# parse [--id ID] [--dir DIR] options; REST holds the other words.
# With stop_at_word=1 (exec) parsing stops at the first non-option word.
parse_opts() {
	local stop_at_word=$1; shift
	REST=()
	while [ $# -gt 0 ]; do
		case $1 in
		--id) [ $# -ge 2 ] || usage; ID=$2; shift 2 ;;
		--id=*) ID=${1#--id=}; shift ;;
		--dir) [ $# -ge 2 ] || usage; DIR_GIVEN=$2; shift 2 ;;
		--dir=*) DIR_GIVEN=${1#--dir=}; shift ;;
		-h|--help) usage ;;
		--) shift; REST+=("$@"); break ;;
		*)
			if [ "$stop_at_word" = 1 ]; then REST+=("$@"); break; fi
			REST+=("$1"); shift ;;
		esac
	done
	check_id
	resolve_dir
}

# ---------------------------------------------------------------- PKI -----
# gen_pki OUT: the test PKI (RSA-2048, SHA-256) and the SSH host keys.
# The whole function body is hashed into the cache key, so any change here
# regenerates the cache.
gen_pki() {
	local out=$1
	mkdir -p "$out"
	(
	cd "$out"
	cat > req.cnf <<'EOF'
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
[ root_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
	cat > ext.cnf <<'EOF'
[ sub_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints = URI:${ENV::CDP}
[ issuing_ca ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints = URI:${ENV::CDP}
[ server ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = ${ENV::SAN}
crlDistributionPoints = URI:${ENV::CDP}
[ server_nocdp ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = ${ENV::SAN}
EOF
	key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" 2>/dev/null; chmod 600 "$1.key"; }
	serial() { printf '0x%s' "$(openssl rand -hex 12)"; }
	selfsigned() { # stem subject days
		openssl req -new -x509 -key "$1.key" -subj "$2" -days "$3" -sha256 -set_serial "$(serial)" \
			-config req.cnf -extensions root_ca -out "$4"
	}
	issue() { # subject-key-stem subject issuer-stem days section out [issuer-cert]
		openssl req -new -key "$1.key" -subj "$2" -config req.cnf -out "$1.csr"
		CDP=${CDP:-unused} SAN=${SAN:-unused} openssl x509 -req -in "$1.csr" -CA "${7:-$3.pem}" -CAkey "$3.key" -set_serial "$(serial)" \
			-days "$4" -sha256 -extfile ext.cnf -extensions "$5" -out "$6" 2>/dev/null
		rm -f "$1.csr"
	}
	local crl=${CRL_BASE:-http://mdm.lab.test/crl}
	local fpki="/C=US/O=U.S. Government/OU=FPKI"
	local dod="/C=US/O=U.S. Government/OU=DoD/OU=PKI"
	for k in fcpca-g2 fbca-g4 dod-interop-root-ca-2 dod-root-ca-3 dod-sw-ca-66 mdm apple-root apns; do key "$k" & done
	wait
	selfsigned fcpca-g2 "$fpki/CN=Federal Common Policy CA G2" 3650 fcpca-g2.pem
	CDP=$crl/FCPCAG2.crl issue fbca-g4 "$fpki/CN=Federal Bridge CA G4" fcpca-g2 1095 sub_ca fbca-g4.pem
	CDP=$crl/FBCAG4.crl issue dod-interop-root-ca-2 "$dod/CN=DoD Interoperability Root CA 2" fbca-g4 730 sub_ca dod-interop-root-ca-2.pem
	# DoD Root CA 3: one key, two certificates: the cross-certificate issued by
	# DoD Interoperability Root CA 2, and the self-signed root (the anchor).
	CDP=$crl/DODINTEROPERABILITYROOTCA2.crl issue dod-root-ca-3 "$dod/CN=DoD Root CA 3" dod-interop-root-ca-2 365 sub_ca dod-root-ca-3-cross.pem
	selfsigned dod-root-ca-3 "$dod/CN=DoD Root CA 3" 3650 dod-root-ca-3.pem
	CDP=$crl/DODROOTCA3.crl issue dod-sw-ca-66 "$dod/CN=DOD SW CA-66" dod-root-ca-3 1825 issuing_ca dod-sw-ca-66.pem
	CDP=$crl/DODSWCA_66.crl SAN="DNS:mdm.lab.test" \
		issue mdm "$dod/OU=USN/CN=mdm.lab.test" dod-sw-ca-66 365 server mdm.pem
	# the chain the MDM pushes: leaf -> issuing CA -> DoD Root CA 3 (cross) ->
	# DoD Interoperability Root CA 2 -> Federal Bridge CA G4 (-> FCPCA G2 anchor)
	cat mdm.pem dod-sw-ca-66.pem dod-root-ca-3-cross.pem dod-interop-root-ca-2.pem fbca-g4.pem > chain-full.pem
	# misconfigured: the DoD issuing path only, no cross-certificates: a
	# DoD-trusting client copes, a device trusting FCPCA G2 cannot build a path
	cat mdm.pem dod-sw-ca-66.pem > chain-without-cross.pem

	selfsigned apple-root "/C=US/O=Apple Inc. (flowprobe lab)/OU=Certification Authority/CN=Lab Apple Root" 3650 apple-root.pem
	SAN="DNS:*.push.lab.test,DNS:1-courier.push.lab.test,DNS:api.push.lab.test,DNS:gateway.push.lab.test" \
		issue apns "/C=US/O=Apple Inc. (flowprobe lab)/CN=api.push.lab.test" apple-root 365 server_nocdp apns.pem
	cp apns.pem apns-chain.pem

	ssh-keygen -q -t rsa -b 3072 -N '' -C flowprobe-lab -f ssh_host_rsa_key &
	ssh-keygen -q -t ecdsa -b 256 -N '' -C flowprobe-lab -f ssh_host_ecdsa_key &
	wait
	touch .complete
	)
}

pki_valid() { # dir: complete and nothing expires within 60 days
	local d=$1 f
	[ -f "$d/.complete" ] || return 1
	for f in fcpca-g2 fbca-g4 dod-interop-root-ca-2 dod-root-ca-3 dod-root-ca-3-cross dod-sw-ca-66 mdm apple-root apns; do
		openssl x509 -noout -checkend $((60 * 86400)) -in "$d/$f.pem" >/dev/null 2>&1 || return 1
	done
}

pki_install() {
	local hash cache tmp
	hash=$(declare -f gen_pki | sha256sum | cut -c1-16)
	cache=$CACHE_ROOT/pki-$hash
	if [ "${FPLAB_CACHE:-}" != off ] && pki_valid "$cache"; then
		cp -a "$cache/." "$DIR/pki/"
		log "PKI: reused cache $cache"
		return
	fi
	gen_pki "$DIR/pki"
	log "PKI: generated"
	if [ "${FPLAB_CACHE:-}" != off ]; then
		mkdir -p "$CACHE_ROOT"; chmod 700 "$CACHE_ROOT"
		tmp=$(mktemp -d "$CACHE_ROOT/tmp.XXXXXX")
		cp -a "$DIR/pki/." "$tmp/"
		rm -rf "$cache"
		mv -T "$tmp" "$cache" 2>/dev/null || rm -rf "$tmp"
	fi
}

# CRLs: fresh (lastUpdate now, nextUpdate +7d) and stale (nextUpdate 7 days
# ago), DER, one per CA. DOD SW CA-66's lists one revoked (made-up) serial.
make_crls() {
	local p=$DIR/pki c db out
	cat > "$DIR/ca/ca.cnf" <<'EOF'
[ ca ]
default_ca = lab_ca
[ lab_ca ]
database = ${ENV::CADB}/index.txt
crlnumber = ${ENV::CADB}/crlnumber
default_md = sha256
default_crl_days = 7
crl_extensions = crl_ext
[ crl_ext ]
authorityKeyIdentifier = keyid:always
EOF
	local stale_last stale_next
	stale_last=$(date -u -d '-14 days' +%Y%m%d%H%M%SZ)
	stale_next=$(date -u -d '-7 days' +%Y%m%d%H%M%SZ)
	mkdir -p "$DIR/crl/fresh" "$DIR/crl/stale"
	for c in "${CAS[@]}"; do
		db=$DIR/ca/$c; mkdir -p "$db"
		: > "$db/index.txt"
		if [ "$c" = dod-sw-ca-66 ]; then
			printf 'R\t301231235959Z\t250101000000Z,keyCompromise\t0DEADBEEF0\tunknown\t/CN=revoked.mdm.lab.test\n' > "$db/index.txt"
		fi
		echo 1000 > "$db/crlnumber"
		out=${CRLNAME[$c]}
		CADB=$db openssl ca -batch -config "$DIR/ca/ca.cnf" -gencrl -cert "$p/$c.pem" -keyfile "$p/$c.key" \
			-out "$db/fresh.pem" 2>/dev/null
		CADB=$db openssl ca -batch -config "$DIR/ca/ca.cnf" -gencrl -cert "$p/$c.pem" -keyfile "$p/$c.key" \
			-crl_lastupdate "$stale_last" -crl_nextupdate "$stale_next" -out "$db/stale.pem" 2>/dev/null
		openssl crl -in "$db/fresh.pem" -outform DER -out "$DIR/crl/fresh/$out.crl"
		openssl crl -in "$db/stale.pem" -outform DER -out "$DIR/crl/stale/$out.crl"
	done
}

install_crls() { # fresh|stale
	local f
	for f in "$DIR/crl/$1"/*.crl; do
		cp "$f" "$DIR/www/mdm/crl/.tmp.crl"
		mv -f "$DIR/www/mdm/crl/.tmp.crl" "$DIR/www/mdm/crl/${f##*/}"
	done
}

# ------------------------------------------------------------ network -----
net_up() {
	local n v fw
	fw=$(ns firewall)
	for n in "${NAMESPACES[@]}"; do
		ip netns add "$(ns "$n")"
		nsx "$n" sh -c 'sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null;
			sysctl -qw net.ipv4.ip_forward=0' || true
		ip -n "$(ns "$n")" link set lo up
		mkdir -p "/etc/netns/$(ns "$n")"
		printf 'nameserver %s\noptions timeout:1 attempts:2\n' "$DNS_IP" > "/etc/netns/$(ns "$n")/resolv.conf"
		printf '127.0.0.1\tlocalhost\n' > "/etc/netns/$(ns "$n")/hosts"
	done
	for v in administrators mobile-devices mdm-server apns; do
		ip -n "$fw" link add "${FWIF[$v]}" type veth peer name eth0 netns "$(ns "$v")"
		ip -n "$fw" addr add "${SUBNET[$v]}.1/24" dev "${FWIF[$v]}"
		ip -n "$fw" link set "${FWIF[$v]}" up
		ip -n "$(ns "$v")" addr add "${SUBNET[$v]}.10/24" dev eth0
		ip -n "$(ns "$v")" link set eth0 up
		ip -n "$(ns "$v")" route add default via "${SUBNET[$v]}.1"
	done
	ip -n "$fw" addr add "$DNS_IP/32" dev lo
	nsx firewall sysctl -qw net.ipv4.ip_forward=1
}

render() { # template -> stdout
	sed -e "s|@ADMIN_NET@|${SUBNET[administrators]}.0/24|g" \
		-e "s|@MOBILE_NET@|${SUBNET[mobile-devices]}.0/24|g" \
		-e "s|@MDM_NET@|${SUBNET[mdm-server]}.0/24|g" \
		-e "s|@APNS_NET@|${SUBNET[apns]}.0/24|g" \
		-e "s|@MDM_IP@|$MDM_IP|g" -e "s|@APNS_IP@|$APNS_IP|g" -e "s|@DNS_IP@|$DNS_IP|g" "$1"
}

render_nft() {
	local f
	mkdir -p "$DIR/nft/scenarios"
	render "$LAB_SRC/nft/compliant.nft" > "$DIR/nft/compliant.nft"
	for f in "$LAB_SRC"/nft/scenarios/*.nft; do
		render "$f" > "$DIR/nft/scenarios/${f##*/}"
	done
}

nft_load() { # [scenario]: compliant ruleset (+ one scenario rule) in one transaction
	if [ -n "${1:-}" ]; then
		cat "$DIR/nft/compliant.nft" "$DIR/nft/scenarios/$1.nft" | nsx firewall nft -f -
	else
		nsx firewall nft -f "$DIR/nft/compliant.nft"
	fi
}

# ----------------------------------------------------------------- DNS -----
write_dns_hosts() { # full|no-mdm
	{
		[ "$1" = no-mdm ] || printf '%s\t%s\n' "$MDM_IP" "$MDM_NAME"
		printf '%s\t%s\n' "$APNS_IP" "$APNS_COURIER_NAME" "$APNS_IP" "$APNS_PROVIDER_NAME" "$APNS_IP" "$APNS_LEGACY_NAME"
	} > "$DIR/dns/hosts.new"
	if cmp -s "$DIR/dns/hosts.new" "$DIR/dns/hosts"; then rm -f "$DIR/dns/hosts.new"; return 1; fi
	mv -f "$DIR/dns/hosts.new" "$DIR/dns/hosts"
}

dns_up() {
	write_dns_hosts full || true
	# --no-resolv/--no-hosts: no upstream, not the host's /etc/hosts.
	# --local=/#/: every name not in the lab's hosts file is NXDOMAIN.
	nsx firewall dnsmasq --conf-file=/dev/null --no-resolv --no-hosts --no-poll \
		--addn-hosts="$DIR/dns/hosts" --local=/#/ --domain-needed \
		--listen-address="$DNS_IP" --bind-interfaces --port=53 --cache-size=0 \
		--user=root --group=root --pid-file="$DIR/run/dnsmasq.pid" \
		--log-facility="$DIR/log/dnsmasq.log" --log-queries
}

dns_reload() { # full|no-mdm
	write_dns_hosts "$1" || return 0
	kill -HUP "$(cat "$DIR/run/dnsmasq.pid")"
	local want=0 i
	[ "$1" = full ] || want=2
	for i in $(seq 50); do
		local rc=0
		nsx firewall getent ahostsv4 "$MDM_NAME" >/dev/null 2>&1 || rc=$?
		[ "$rc" = "$want" ] && return 0
		sleep 0.1
	done
	die "dnsmasq did not pick up the new hosts file"
}

# ------------------------------------------------------------ services -----
write_sshd_config() {
	cat > "$DIR/ssh/sshd_config" <<EOF
# flowprobe lab: OpenSSH within what every current STIG release allows
# (flowprobe's `stig` policy: RHEL 8 V2R5, RHEL 9 V2R7, Ubuntu 22.04 V2R7,
# Ubuntu 24.04 V1R1), mdm-server namespace
Port 22
ListenAddress $MDM_IP
HostKey $DIR/pki/ssh_host_rsa_key
HostKey $DIR/pki/ssh_host_ecdsa_key
PidFile $DIR/run/sshd.pid
UsePAM no
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
HostbasedAuthentication no
AuthorizedKeysFile none
X11Forwarding no
AllowTcpForwarding no
PermitTunnel no
PermitUserEnvironment no
Compression no
ClientAliveInterval 600
ClientAliveCountMax 1
LogLevel VERBOSE
Ciphers aes256-gcm@openssh.com,aes256-ctr,aes128-gcm@openssh.com,aes128-ctr
MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512,hmac-sha2-256
KexAlgorithms ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256
HostKeyAlgorithms rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521
PubkeyAcceptedAlgorithms rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521
CASignatureAlgorithms rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521
EOF
}

nginx_common() { # name
	cat <<EOF
# flowprobe lab nginx ($1), generated by lab.sh
user root;
daemon on;
worker_processes 1;
pid $DIR/run/nginx-$1.pid;
error_log $DIR/log/nginx-$1-error.log;
events { worker_connections 256; }
http {
    access_log $DIR/log/nginx-$1-access.log;
    client_body_temp_path $DIR/nginx/$1/tmp/body;
    proxy_temp_path $DIR/nginx/$1/tmp/proxy;
    fastcgi_temp_path $DIR/nginx/$1/tmp/fastcgi;
    uwsgi_temp_path $DIR/nginx/$1/tmp/uwsgi;
    scgi_temp_path $DIR/nginx/$1/tmp/scgi;
    types { application/pkix-crl crl; text/plain txt; }
    default_type application/octet-stream;
    server_tokens off;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    ssl_ciphers ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256;
    # TLS 1.3 without ChaCha20-Poly1305, which SP 800-52r2 3.3.1.2 does
    # not list (OpenSSL offers it unless told).
    ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256;
EOF
}

write_nginx_configs() {
	mkdir -p "$DIR/nginx/mdm/tmp" "$DIR/nginx/apns/tmp" "$DIR/www/mdm/crl"
	cp "$DIR/pki/chain-full.pem" "$DIR/nginx/mdm/chain.pem"
	{
		nginx_common mdm
		cat <<EOF
    # port 80: CRLs for mobile devices, DER, at /crl/<CA>.crl
    server {
        listen $MDM_IP:80;
        server_name $MDM_NAME;
        root $DIR/www/mdm;
        location /crl/ { }
        location / { return 404; }
    }
    # 443 (devices) and 8443 (admin console): the full path to FCPCA G2
    server {
        listen $MDM_IP:443 ssl;
        listen $MDM_IP:8443 ssl;
        server_name $MDM_NAME;
        ssl_certificate $DIR/nginx/mdm/chain.pem;
        ssl_certificate_key $DIR/pki/mdm.key;
        location / { return 200 "flowprobe lab: Jamf Pro stand-in\n"; }
    }
}
EOF
	} > "$DIR/nginx/mdm/nginx.conf"
	{
		nginx_common apns
		cat <<EOF
    # APNs stand-in: courier 5223 (+443 fallback), provider API 443/2197 (h2),
    # legacy binary provider 2195 (TLS, no HTTP/2)
    server {
        listen $APNS_IP:443 ssl http2;
        listen $APNS_IP:2197 ssl http2;
        listen $APNS_IP:5223 ssl;
        listen $APNS_IP:2195 ssl;
        server_name *.push.lab.test;
        ssl_certificate $DIR/pki/apns-chain.pem;
        ssl_certificate_key $DIR/pki/apns.key;
        location / { return 200 "flowprobe lab: APNs stand-in\n"; }
    }
}
EOF
	} > "$DIR/nginx/apns/nginx.conf"
}

start_nginx() { # name namespace
	nsx "$2" nginx -q -p "$DIR/nginx/$1/" -c "$DIR/nginx/$1/nginx.conf" -e "$DIR/log/nginx-$1-error.log"
}

mdm_chain_count() { # port: certificates the MDM sends, seen from inside mdm-server
	nsx mdm-server openssl s_client -connect "$MDM_IP:$1" -servername "$MDM_NAME" -showcerts </dev/null 2>/dev/null |
		grep -c 'BEGIN CERTIFICATE' || true
}

set_mdm_chain() { # full|without-cross
	local src=$DIR/pki/chain-$1.pem want i
	cmp -s "$src" "$DIR/nginx/mdm/chain.pem" && return 0
	cp "$src" "$DIR/nginx/mdm/chain.pem"
	kill -HUP "$(cat "$DIR/run/nginx-mdm.pid")"
	want=$(grep -c 'BEGIN CERTIFICATE' "$src")
	# Old workers finish their connections after a reload: three answers
	# in a row with the new chain, not one, say the reload is done.
	local seen=0
	for i in $(seq 80); do
		if [ "$(mdm_chain_count 443)" = "$want" ] && [ "$(mdm_chain_count 8443)" = "$want" ]; then
			seen=$((seen + 1))
			[ "$seen" -ge 3 ] && return 0
		else
			seen=0
		fi
		sleep 0.1
	done
	die "nginx (mdm) did not reload the chain"
}

wait_listening() { # namespace port...
	local n=$1 p i; shift
	for p in "$@"; do
		for i in $(seq 50); do
			nsx "$n" ss -Hltn "sport = :$p" | grep -q . && continue 2
			sleep 0.1
		done
		die "nothing listens on $n:$p"
	done
}

start_services() {
	mkdir -p /run/sshd && chmod 755 /run/sshd   # sshd's privilege separation dir
	write_sshd_config
	/usr/sbin/sshd -t -f "$DIR/ssh/sshd_config"
	nsx mdm-server /usr/sbin/sshd -f "$DIR/ssh/sshd_config" -E "$DIR/log/sshd.log"
	write_nginx_configs
	install_crls fresh
	start_nginx mdm mdm-server
	start_nginx apns apns
	wait_listening mdm-server 22 80 443 8443
	wait_listening apns 443 2197 5223 2195
	wait_listening firewall 53
}

# ------------------------------------------------------------- configs -----
write_flowprobe_configs() {
	local v
	for v in "${VANTAGES[@]}"; do
		cat > "$DIR/flowprobe-$v.toml" <<EOF
# flowprobe lab config for the $v vantage (lab $ID), generated by lab.sh.
# Run inside the namespace: tests/lab/lab.sh exec --id $ID $v flowprobe check --config $DIR/flowprobe-$v.toml
vantages = ["$v"]
catalog = "jamf-pro"

[listen]
address = "127.0.0.1:9725"   # inside the vantage namespace

# Short enough that a forbidden (dropped) flow is judged in 2 s and a
# daemon sees a firewall change within seconds.
[defaults]
interval = "5s"
timeout = "2s"

[targets]
mdm = "$MDM_NAME"
apns-courier = "$APNS_COURIER_NAME"
apns-provider = "$APNS_PROVIDER_NAME"
apns-legacy = "$APNS_LEGACY_NAME"

[vantage.$v]
dns_servers = ["$DNS_IP"]

[trust.fcpca-g2]
anchors = ["$DIR/pki/fcpca-g2.pem"]

[trust.dod]
anchors = ["$DIR/pki/dod-root-ca-3.pem"]

[trust.apple]
anchors = ["$DIR/pki/apple-root.pem"]

# CRL signatures: issuers come from the 443 chain and these anchors; with
# DoD Root CA 3 among them the DoD CRLs verify even when the server stops
# sending the cross-certificates.
[[flow]]
name = "mobile-mdm-crl"
crl = { trust = ["fcpca-g2", "dod"] }

# The APNs stand-ins chain to the lab's Apple root, not the OS store.
[[flow]]
name = "mobile-apns-courier"
tls = { trust = ["apple"], server_name = "courier.push.lab.test" }

[[flow]]
name = "mobile-apns-courier-fallback"
tls = { trust = ["apple"], server_name = "courier.push.lab.test" }

[[flow]]
name = "mdm-apns-provider"
tls = { trust = ["apple"] }

[[flow]]
name = "mdm-apns-provider-alt"
tls = { trust = ["apple"] }

[[flow]]
name = "mdm-apns-legacy"
tls = { trust = ["apple"] }
EOF
	done
}

# ---------------------------------------------------------- subcommands ----
cmd_up() {
	require_root
	local n t0
	t0=$(now_ms)
	for n in "${NAMESPACES[@]}"; do
		ns_exists "$n" && die "lab '$ID' is already (partly) up: namespace $(ns "$n") exists; run: $0 down --id $ID"
	done
	if [ -e "$DIR" ] && [ ! -f "$DIR/.flowprobe-lab" ]; then
		die "$DIR exists and is not a lab dir; choose another --dir"
	fi
	trap '_rc=$?; if [ $_rc -ne 0 ] && [ -z "${FPLAB_KEEP_ON_FAILURE:-}" ]; then
		log "up failed (rc=$_rc): removing the partial lab"; cmd_down >&2 || true; fi' EXIT
	rm -rf "$DIR"
	mkdir -p "$DIR"/{run,log,pki,ca,crl,dns,ssh,nft,www/mdm/crl}
	chmod 755 "$DIR"
	echo "$ID" > "$DIR/.flowprobe-lab"
	mkdir -p "$STATE_DIR"
	echo "$DIR" > "$STATE_DIR/$ID"

	pki_install
	make_crls
	render_nft
	net_up
	nft_load
	dns_up
	start_services
	write_flowprobe_configs
	echo compliant > "$DIR/scenario"
	trap - EXIT
	log "up in $(( $(now_ms) - t0 )) ms: dir $DIR; eval \"\$($0 env --id $ID)\""
}

alive() { # pid: exists and is not a zombie (PID 1 of a container may not reap)
	local st
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

kill_pid() { # pid
	local p=$1 i
	alive "$p" || return 0
	kill -TERM "$p" 2>/dev/null || true
	for i in $(seq 40); do alive "$p" || return 0; sleep 0.05; done
	kill -KILL "$p" 2>/dev/null || true
}

cmd_down() {
	require_root
	local n f p t0
	t0=$(now_ms)
	# 1. processes the lab started, by pid file
	if [ -d "$DIR/run" ]; then
		for f in "$DIR"/run/*.pid; do
			[ -f "$f" ] || continue
			p=$(cat "$f" 2>/dev/null || true)
			[[ $p =~ ^[0-9]+$ ]] && kill_pid "$p"
		done
	fi
	# 2. whatever else still runs inside a lab namespace (e.g. flowprobe)
	for n in "${NAMESPACES[@]}"; do
		ns_exists "$n" || continue
		for p in $(ip netns pids "$(ns "$n")" 2>/dev/null || true); do kill -TERM "$p" 2>/dev/null || true; done
	done
	for n in "${NAMESPACES[@]}"; do
		ns_exists "$n" || continue
		for p in $(ip netns pids "$(ns "$n")" 2>/dev/null || true); do kill_pid "$p"; done
	done
	# 3. namespaces (their veth pairs go with them) and per-namespace /etc
	for n in "${NAMESPACES[@]}"; do
		ns_exists "$n" && { ip netns del "$(ns "$n")" || log "could not delete namespace $(ns "$n")"; }
		rm -rf "/etc/netns/$(ns "$n")"
	done
	# 4. the lab dir (only if it is one) and the instance record
	if [ -f "$DIR/.flowprobe-lab" ]; then
		rm -rf "$DIR"
	elif [ -e "$DIR" ]; then
		log "not removing $DIR: no .flowprobe-lab marker"
	fi
	rm -f "$STATE_DIR/$ID"
	log "down in $(( $(now_ms) - t0 )) ms"
}

require_up() {
	[ -f "$DIR/.flowprobe-lab" ] && ns_exists firewall || die "lab '$ID' is not up (run: $0 up --id $ID)"
}

cmd_scenario() {
	require_root
	local name=${1:-} s t0 ok=
	[ -n "$name" ] || die "usage: lab.sh scenario NAME [--id ID]; NAME one of: ${SCENARIOS[*]}"
	for s in "${SCENARIOS[@]}"; do [ "$s" = "$name" ] && ok=1; done
	[ -n "$ok" ] || die "unknown scenario '$name'; one of: ${SCENARIOS[*]}"
	require_up
	t0=$(now_ms)
	# reset everything to compliant, then change exactly one thing
	case $name in
	admin-8443-dropped|mobile-443-rejected|mobile-ssh-open) nft_load "$name" ;;  # one transaction
	*) nft_load ;;
	esac
	install_crls "$([ "$name" = stale-crl ] && echo stale || echo fresh)"
	set_mdm_chain "$([ "$name" = chain-without-cross ] && echo without-cross || echo full)"
	dns_reload "$([ "$name" = dns-nxdomain ] && echo no-mdm || echo full)"
	echo "$name" > "$DIR/scenario"
	log "scenario $name in $(( $(now_ms) - t0 )) ms"
}

cmd_env() {
	require_up
	local v V
	q() { printf 'export %s=%q\n' "$1" "$2"; }
	q FPLAB_ID "$ID"
	q FPLAB_DIR "$DIR"
	q LABDIR "$DIR"
	q FPLAB_SRC "$LAB_SRC"
	q FPLAB_SCENARIO "$(cat "$DIR/scenario" 2>/dev/null || echo unknown)"
	for v in "${NAMESPACES[@]}"; do
		V=$(echo "$v" | tr 'a-z-' 'A-Z_')
		q "FPLAB_NS_$V" "$(ns "$v")"
	done
	q FPLAB_IP_ADMINISTRATORS "$ADMIN_IP"
	q FPLAB_IP_MOBILE_DEVICES "$MOBILE_IP"
	q FPLAB_IP_MDM_SERVER "$MDM_IP"
	q FPLAB_IP_APNS "$APNS_IP"
	q FPLAB_DNS "$DNS_IP"
	q FPLAB_MDM_NAME "$MDM_NAME"
	q FPLAB_APNS_COURIER_NAME "$APNS_COURIER_NAME"
	q FPLAB_APNS_PROVIDER_NAME "$APNS_PROVIDER_NAME"
	q FPLAB_APNS_LEGACY_NAME "$APNS_LEGACY_NAME"
	q FPLAB_ANCHOR_FCPCA_G2 "$DIR/pki/fcpca-g2.pem"
	q FPLAB_ANCHOR_DOD "$DIR/pki/dod-root-ca-3.pem"
	q FPLAB_ANCHOR_APPLE "$DIR/pki/apple-root.pem"
	for v in "${VANTAGES[@]}"; do
		V=$(echo "$v" | tr 'a-z-' 'A-Z_')
		q "FPLAB_CONFIG_$V" "$DIR/flowprobe-$v.toml"
	done
	q FPLAB_EXPECTED_DIR "$LAB_SRC/expected"
}

cmd_status() {
	local n
	echo "lab $ID: dir $DIR, scenario $(cat "$DIR/scenario" 2>/dev/null || echo -)"
	for n in "${NAMESPACES[@]}"; do
		if ns_exists "$n"; then echo "  $(ns "$n"): $(ip netns pids "$(ns "$n")" 2>/dev/null | wc -l) processes"
		else echo "  $(ns "$n"): absent"; fi
	done
}

cmd_exec() {
	[ $# -ge 2 ] || die "usage: lab.sh exec [--id ID] NAMESPACE CMD [ARG...]"
	local n=$1 ok= s; shift
	for s in "${NAMESPACES[@]}"; do [ "$s" = "$n" ] && ok=1; done
	[ -n "$ok" ] || die "unknown namespace '$n'; one of: ${NAMESPACES[*]}"
	ns_exists "$n" || die "lab '$ID' is not up"
	exec ip netns exec "$(ns "$n")" "$@"
}

main() {
	[ $# -ge 1 ] || usage
	local cmd=$1; shift
	case $cmd in
	up) parse_opts 0 "$@"; [ ${#REST[@]} = 0 ] || usage; cmd_up ;;
	down) parse_opts 0 "$@"; [ ${#REST[@]} = 0 ] || usage; cmd_down ;;
	scenario) parse_opts 0 "$@"; [ ${#REST[@]} = 1 ] || usage; cmd_scenario "${REST[0]}" ;;
	scenarios) printf '%s\n' "${SCENARIOS[@]}" ;;
	env) parse_opts 0 "$@"; cmd_env ;;
	status) parse_opts 0 "$@"; cmd_status ;;
	exec) parse_opts 1 "$@"; cmd_exec "${REST[@]}" ;;
	-h|--help|help) usage ;;
	*) die "unknown subcommand '$cmd' (up, down, scenario, scenarios, env, status, exec)" ;;
	esac
}

main "$@"
