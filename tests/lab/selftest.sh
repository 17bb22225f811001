#!/usr/bin/env bash
# Self-test of the flowprobe lab with standard tools only (bash /dev/tcp,
# openssl s_client, curl, openssl crl, ssh, ssh-keyscan, dig): no flowprobe.
#
#   tests/lab/selftest.sh            # as root
#
# Brings up a lab with a random id, probes every catalog flow of the jamf-pro
# catalog from its vantage namespace the way flowprobe would, and compares the
# whole observed matrix with tests/lab/expected/<scenario>.json, for the
# compliant network and for every scenario. Also checks facts outside the
# catalog (chain length, ALPN, all CRLs, SSH algorithms, DNS, default deny),
# and that `down` leaves nothing behind, also after a partial `up`.
# The lab is removed on exit, also on failure or interrupt.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$HERE/lab.sh
ID=st$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
WORK=$(mktemp -d /tmp/flowprobe-lab-selftest.XXXXXX)
FAILS=0
TIMINGS=()
CONNECT_TIMEOUT=${FPLAB_CONNECT_TIMEOUT:-1.5}

cleanup() {
	local rc=$?
	"$LAB" down --id "$ID" >/dev/null 2>&1 || true
	"$LAB" down --id "${ID}p" >/dev/null 2>&1 || true
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { echo "selftest: must run as root" >&2; exit 1; }
for t in ip nft sshd nginx dnsmasq openssl curl ssh ssh-keyscan python3; do
	command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || { echo "selftest: missing tool $t" >&2; exit 1; }
done
HAVE_DIG=; command -v dig >/dev/null && HAVE_DIG=1

pass() { printf '  ok    %s\n' "$*"; }
fail() { printf '  FAIL  %s\n' "$*"; FAILS=$((FAILS + 1)); }
check() { # description command...
	local d=$1; shift
	if "$@"; then pass "$d"; else fail "$d"; fi
}
ms() { date +%s%3N; }
timed() { # label command...
	local label=$1 t0 t1 rc; shift
	t0=$(ms); "$@"; rc=$?; t1=$(ms)
	TIMINGS+=("$(printf '%-32s %6d ms' "$label" $((t1 - t0)))")
	return $rc
}
x() { local v=$1; shift; ip netns exec "fp-$ID-$v" "$@"; }

# ---- probes with standard tools; each prints one reason --------------------
dns_status() { # vantage name -> NOERROR|NXDOMAIN|...
	if [ -n "$HAVE_DIG" ]; then
		x "$1" dig +time=1 +tries=2 +noall +comments "@$FPLAB_DNS" "$2" A 2>/dev/null |
			sed -n 's/.*status: \([A-Z]*\).*/\1/p' | head -1
	else
		local rc=0
		x "$1" getent ahostsv4 "$2" >/dev/null 2>&1 || rc=$?
		case $rc in 0) echo NOERROR ;; 2) echo NXDOMAIN ;; *) echo ERROR ;; esac
	fi
}

tcp_reason() { # vantage host port -> ok|filtered|refused|unreachable|error
	local out rc=0
	out=$(x "$1" timeout "$CONNECT_TIMEOUT" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$2" "$3" 2>&1) || rc=$?
	if [ $rc = 0 ]; then echo ok
	elif [ $rc = 124 ]; then echo filtered
	elif [[ $out == *refused* ]]; then echo refused
	elif [[ $out == *"No route"* || $out == *unreachable* ]]; then echo unreachable
	else echo "error"; fi
}

tls_reason() { # vantage host port anchor [alpn] -> ok|chain_incomplete|...
	local out code
	out=$(x "$1" timeout 5 openssl s_client -connect "$2:$3" -servername "$2" -verify_hostname "$2" \
		-CAfile "$4" -no-CApath -no-CAstore ${5:+-alpn "$5"} </dev/null 2>&1 | tr -d '\000')
	code=$(sed -n 's/.*Verify return code: \([0-9]*\).*/\1/p' <<<"$out" | tail -1)
	case $code in
	0) ;;
	2|19|20|21) echo chain_incomplete; return ;;
	10) echo cert_expired; return ;;
	62) echo name_mismatch; return ;;
	"") echo tls_handshake; return ;;
	*) echo "chain_untrusted"; return ;;
	esac
	if [ -n "${5:-}" ] && ! grep -q "ALPN protocol: ${5%%,*}" <<<"$out"; then echo protocol_error; return; fi
	echo ok
}

ssh_reason() { # vantage host -> ok|ssh_banner|ssh_weak_algorithms
	local keys prop
	keys=$(x "$1" ssh-keyscan -T 3 -t rsa,ecdsa "$2" 2>/dev/null)
	grep -q ' rsa-sha2\| ssh-rsa ' <<<"$keys" && grep -q ' ecdsa-sha2-nistp256 ' <<<"$keys" || { echo ssh_banner; return; }
	prop=$(x "$1" timeout 5 ssh -vv -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o ConnectTimeout=3 -F /dev/null "flowprobe-lab@$2" true 2>&1 |
		sed -n '/peer server KEXINIT proposal/,/first_kex_follows/p')
	grep -q 'KEX algorithms: .*ecdh-sha2-nistp256' <<<"$prop" || { echo ssh_banner; return; }
	printf '%s\n' "$prop" > "$WORK/ssh-proposal.txt"
	if grep -Eq 'curve25519|sntrup|mlkem|chacha20|-cbc|umac|hmac-sha1|hmac-md5|ssh-ed25519|diffie-hellman-group1-|group14-sha1|[ ,:]ssh-rsa(,|$)' <<<"$prop"; then
		echo ssh_weak_algorithms; return
	fi
	echo ok
}

crl_reason() { # vantage url issuer-pem -> ok|crl_stale|crl_invalid|http_status
	local f=$WORK/crl.$$.$RANDOM out next
	x "$1" curl -fsS -m 3 -o "$f" "$2" 2>/dev/null || { echo http_status; return; }
	out=$(openssl crl -inform DER -in "$f" -CAfile "$3" -noout -nextupdate 2>&1)
	grep -q 'verify OK' <<<"$out" || { echo crl_invalid; return; }
	next=$(sed -n 's/^nextUpdate=//p' <<<"$out")
	[ "$(date -d "$next" +%s)" -gt "$(date +%s)" ] || { echo crl_stale; return; }
	echo ok
}

# ---- the jamf-pro catalog, probed like flowprobe would -----------------------
# name vantage target port kind expect [anchor] [alpn]
FLOWS=(
	"admin-mdm-ssh administrators mdm 22 ssh open"
	"admin-mdm-https-alt administrators mdm 8443 tls open fcpca"
	"mobile-mdm-crl mobile-devices mdm 80 crl open"
	"mobile-mdm-https mobile-devices mdm 443 tls open fcpca"
	"mobile-apns-courier mobile-devices apns-courier 5223 tls open apple"
	"mobile-apns-courier-fallback mobile-devices apns-courier 443 tls open apple"
	"mdm-apns-provider mdm-server apns-provider 443 tls open apple h2"
	"mdm-apns-provider-alt mdm-server apns-provider 2197 tls open apple h2"
	"mdm-apns-legacy mdm-server apns-legacy 2195 tcp open"
	"mobile-mdm-ssh-forbidden mobile-devices mdm 22 tcp closed"
	"mobile-mdm-https-alt-forbidden mobile-devices mdm 8443 tcp closed"
)

target_host() {
	case $1 in
	mdm) echo "$FPLAB_MDM_NAME" ;; apns-courier) echo "$FPLAB_APNS_COURIER_NAME" ;;
	apns-provider) echo "$FPLAB_APNS_PROVIDER_NAME" ;; apns-legacy) echo "$FPLAB_APNS_LEGACY_NAME" ;;
	esac
}

probe_flow() { # flow spec words -> JSON line in $WORK/obs/<name>
	local name=$1 v=$2 target=$3 port=$4 kind=$5 expect=$6 anchor=${7:-} alpn=${8:-}
	local host reason up st
	host=$(target_host "$target")
	st=$(dns_status "$v" "$host")
	if [ "$st" = NXDOMAIN ]; then reason=dns_nxdomain
	elif [ "$st" != NOERROR ]; then reason=dns_error
	else
		reason=$(tcp_reason "$v" "$host" "$port")
		if [ "$reason" = ok ]; then
			case $kind in
			ssh) reason=$(ssh_reason "$v" "$host") ;;
			tls)
				case $anchor in fcpca) anchor=$FPLAB_ANCHOR_FCPCA_G2 ;; apple) anchor=$FPLAB_ANCHOR_APPLE ;; esac
				reason=$(tls_reason "$v" "$host" "$port" "$anchor" "$alpn") ;;
			crl)
				# flowprobe discovers the CRL URLs from the chain the 443 flow
				# captured in the same run: no handshake, no URLs.
				if [ "$(tcp_reason "$v" "$host" 443)" != ok ]; then
					reason=crl_missing
				else
					local url
					url=$(openssl x509 -in "$FPLAB_DIR/pki/mdm.pem" -noout -ext crlDistributionPoints | sed -n 's/.*URI://p' | head -1)
					reason=$(crl_reason "$v" "$url" "$FPLAB_DIR/pki/dod-sw-ca-66.pem")
				fi ;;
			esac
		fi
	fi
	if [ "$expect" = closed ]; then
		case $reason in filtered|refused|unreachable) up=true ;; *) up=false ;; esac
	else
		[ "$reason" = ok ] && up=true || up=false
	fi
	printf '{"flow":"%s","vantage":"%s","up":%s,"reason":"%s"}\n' "$name" "$v" "$up" "$reason" > "$WORK/obs/$name"
}

matrix() { # scenario: probe all flows concurrently, compare with expected/<scenario>.json
	local sc=$1 f
	rm -rf "$WORK/obs"; mkdir -p "$WORK/obs"
	for f in "${FLOWS[@]}"; do
		# shellcheck disable=SC2086
		probe_flow $f &
	done
	wait
	cat "$WORK"/obs/* > "$WORK/observed-$sc.jsonl"
	python3 - "$HERE/expected/$sc.json" "$WORK/observed-$sc.jsonl" <<'PY'
import json, sys
exp = json.load(open(sys.argv[1]))
obs = {}
for line in open(sys.argv[2]):
    o = json.loads(line); obs[o["flow"]] = o
bad = 0
print(f"    {'flow':32} {'vantage':15} {'expected':22} {'observed':22}")
for name, e in exp.items():
    o = obs.get(name, {"vantage": "-", "up": None, "reason": "missing"})
    es = f"{'up' if e['up'] else 'DOWN'} {e['reason']}"
    os_ = f"{'up' if o['up'] else 'DOWN'} {o['reason']}"
    same = (o["vantage"], o["up"], o["reason"]) == (e["vantage"], e["up"], e["reason"])
    bad += not same
    print(f"  {'  ' if same else '!!'}{name:32} {e['vantage']:15} {es:22} {os_:22}")
for name in obs.keys() - exp.keys():
    print(f"  !!{name}: observed but not expected"); bad += 1
sys.exit(1 if bad else 0)
PY
}

chain_count() { # vantage port
	x "$1" timeout 5 openssl s_client -connect "$FPLAB_MDM_NAME:$2" -servername "$FPLAB_MDM_NAME" -showcerts </dev/null 2>/dev/null |
		grep -c 'BEGIN CERTIFICATE'
}

all_crls() { # fresh|stale: every CA's CRL, fetched by a mobile device, signature checked
	local want=$1 stem name r ok=0
	for stem in fcpca-g2:FCPCAG2 fbca-g4:FBCAG4 dod-interop-root-ca-2:DODINTEROPERABILITYROOTCA2 \
		dod-root-ca-3:DODROOTCA3 dod-sw-ca-66:DODSWCA_66; do
		name=${stem#*:}
		r=$(crl_reason mobile-devices "http://$FPLAB_MDM_NAME/crl/$name.crl" "$FPLAB_DIR/pki/${stem%%:*}.pem")
		if { [ "$want" = fresh ] && [ "$r" != ok ]; } || { [ "$want" = stale ] && [ "$r" != crl_stale ]; }; then
			echo "    $name.crl: $r" >&2; ok=1
		fi
	done
	return $ok
}

# ---- run -------------------------------------------------------------------
echo "== lab up (id $ID)"
timed "up" "$LAB" up --id "$ID" || { echo "selftest: up failed" >&2; exit 1; }
eval "$("$LAB" env --id "$ID")"
[ "$FPLAB_ID" = "$ID" ] || { echo "selftest: env broken" >&2; exit 1; }

echo "== instance isolation"
check "up twice refuses" bash -c '! "$0" up --id "$1" 2>/dev/null' "$LAB" "$ID"
check "host namespace has no lab address" bash -c '! ip -o addr | grep -q "198\.18\."'
check "ip_forward only in the firewall" bash -c \
	'[ "$(ip netns exec "$0" sysctl -n net.ipv4.ip_forward)" = 1 ] && [ "$(ip netns exec "$1" sysctl -n net.ipv4.ip_forward)" = 0 ]' \
	"$FPLAB_NS_FIREWALL" "$FPLAB_NS_MDM_SERVER"
check "configs written for every vantage" bash -c \
	'for v in administrators mobile-devices mdm-server; do grep -q "^vantages = \[\"$v\"\]" "$0/flowprobe-$v.toml" || exit 1; done' "$FPLAB_DIR"
check "anchors written" test -s "$FPLAB_ANCHOR_FCPCA_G2" -a -s "$FPLAB_ANCHOR_DOD" -a -s "$FPLAB_ANCHOR_APPLE"
check "lab.sh exec runs in the vantage" bash -c '[ "$("$0" exec --id "$1" mobile-devices ip -4 -o addr show eth0 | grep -o "198\.18\.2\.10")" = 198.18.2.10 ]' "$LAB" "$ID"

echo "== compliant: facts outside the catalog"
for v in administrators mobile-devices mdm-server; do
	check "$v resolves the lab names" bash -c '[ "$0" = NOERROR ] && [ "$1" = NOERROR ]' \
		"$(dns_status "$v" "$FPLAB_MDM_NAME")" "$(dns_status "$v" "$FPLAB_APNS_PROVIDER_NAME")"
	check "$v gets NXDOMAIN for a non-lab name (no upstream)" test "$(dns_status "$v" api.push.apple.com)" = NXDOMAIN
done
if [ -n "$HAVE_DIG" ]; then
	check "lab DNS answers over TCP" bash -c '[ -n "$(ip netns exec "$0" dig +tcp +short +time=1 "@$1" "$2")" ]' \
		"$FPLAB_NS_MOBILE_DEVICES" "$FPLAB_DNS" "$FPLAB_MDM_NAME"
fi
check "443 sends 5 certificates (leaf .. Federal Bridge CA G4)" test "$(chain_count mobile-devices 443)" = 5
check "8443 sends 5 certificates" test "$(chain_count administrators 8443)" = 5
check "443 chains to DoD Root CA 3 too" test "$(tls_reason mobile-devices "$FPLAB_MDM_NAME" 443 "$FPLAB_ANCHOR_DOD")" = ok
check "apns 443 offers ALPN h2" test "$(tls_reason mdm-server "$FPLAB_APNS_PROVIDER_NAME" 443 "$FPLAB_ANCHOR_APPLE" h2)" = ok
check "apns 2197 offers ALPN h2" test "$(tls_reason mdm-server "$FPLAB_APNS_PROVIDER_NAME" 2197 "$FPLAB_ANCHOR_APPLE" h2)" = ok
check "apns 2195 speaks TLS" test "$(tls_reason mdm-server "$FPLAB_APNS_LEGACY_NAME" 2195 "$FPLAB_ANCHOR_APPLE")" = ok
check "all five CRLs fresh, DER, signed by their CA" all_crls fresh
check "SSH offers only STIG algorithms" test "$(ssh_reason administrators "$FPLAB_MDM_NAME")" = ok
check "default deny: administrators -> mdm 443 filtered" test "$(tcp_reason administrators "$FPLAB_MDM_NAME" 443)" = filtered
check "default deny: mobile-devices -> apns 2197 filtered" test "$(tcp_reason mobile-devices "$FPLAB_APNS_PROVIDER_NAME" 2197)" = filtered
check "default deny: mdm-server -> apns 5223 filtered" test "$(tcp_reason mdm-server "$FPLAB_APNS_COURIER_NAME" 5223)" = filtered

echo "== matrix: compliant"
check "matrix compliant" matrix compliant

for sc in admin-8443-dropped mobile-443-rejected mobile-ssh-open chain-without-cross stale-crl dns-nxdomain compliant; do
	echo "== scenario $sc"
	timed "scenario $sc" "$LAB" scenario "$sc" --id "$ID" 2>/dev/null || { fail "scenario $sc"; continue; }
	case $sc in
	chain-without-cross)
		check "443 sends 2 certificates (no cross-certificates)" test "$(chain_count mobile-devices 443)" = 2
		check "8443 sends 2 certificates" test "$(chain_count administrators 8443)" = 2
		check "443 still chains to DoD Root CA 3" test "$(tls_reason mobile-devices "$FPLAB_MDM_NAME" 443 "$FPLAB_ANCHOR_DOD")" = ok ;;
	stale-crl) check "all five CRLs stale (nextUpdate in the past)" all_crls stale ;;
	dns-nxdomain) check "APNs names still resolve" test "$(dns_status mdm-server "$FPLAB_APNS_PROVIDER_NAME")" = NOERROR ;;
	compliant)
		check "reset: 5 certificates again" test "$(chain_count mobile-devices 443)" = 5
		check "reset: CRLs fresh again" all_crls fresh ;;
	esac
	check "matrix $sc" matrix "$sc"
done

echo "== down"
PIDS=$(cat "$FPLAB_DIR"/run/*.pid 2>/dev/null)
timed "down" "$LAB" down --id "$ID" 2>/dev/null
check "no lab namespace left" bash -c '! ip netns list | grep -q "^fp-$0-"' "$ID"
check "no /etc/netns entry left" bash -c '! ls -d /etc/netns/fp-"$0"-* 2>/dev/null | grep -q .' "$ID"
check "lab dir removed" test ! -e "$FPLAB_DIR"
check "lab processes gone" bash -c 'for p in $0; do st=$(sed -n "s/^State:\s*\(.\).*/\1/p" /proc/$p/status 2>/dev/null); [ -z "$st" ] || [ "$st" = Z ] || exit 1; done' "$PIDS"
check "down is idempotent" "$LAB" down --id "$ID"

echo "== down after a partial up"
ip netns add "fp-${ID}p-firewall"; ip netns add "fp-${ID}p-apns"
ip netns exec "fp-${ID}p-apns" sleep 300 &
SLEEPER=$!
sleep 0.2
timed "down (partial)" "$LAB" down --id "${ID}p" 2>/dev/null
check "partial lab: namespaces removed" bash -c '! ip netns list | grep -q "^fp-$0-"' "${ID}p"
wait "$SLEEPER" 2>/dev/null
check "partial lab: process in a lab namespace killed" bash -c '! kill -0 "$0" 2>/dev/null' "$SLEEPER"

echo "== timings"
printf '  %s\n' "${TIMINGS[@]}"
if [ "$FAILS" -gt 0 ]; then echo "selftest: $FAILS check(s) FAILED"; exit 1; fi
echo "selftest: all checks passed"
