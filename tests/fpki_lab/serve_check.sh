#!/bin/sh
# Serve leaf-good + its intermediates with `openssl s_server` on 127.0.0.1
# only, fetch them back with `openssl s_client -showcerts`, and check that the
# server sent all 5 certificates (leaf, CA-66, DoD Root CA 3, DoD Interop
# Root CA 2, Federal Bridge G4) and that the client verifies the chain under
# initial policy {common-policy} with explicit policy. The server is killed
# (by its own PID) on exit.
#
#   sh tests/fpki_lab/serve_check.sh OUTDIR [PORT]     (default PORT 48443)
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 OUTDIR [PORT]" >&2
    exit 2
fi
OUT=$1
PORT=${2:-48443}
TMP=$(mktemp -d)
SPID=
cleanup() {
    if [ -n "$SPID" ]; then
        kill "$SPID" 2>/dev/null || true
        wait "$SPID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

openssl s_server -quiet -www -accept "127.0.0.1:$PORT" \
    -cert "$OUT/leaf-good.pem" -key "$OUT/leaf-good.key" \
    -cert_chain "$OUT/intermediates.pem" >"$TMP/server.log" 2>&1 </dev/null &
SPID=$!

i=0
until openssl s_client -connect "127.0.0.1:$PORT" -servername mdm.lab.test \
    -showcerts -CAfile "$OUT/root.pem" -verify_hostname mdm.lab.test \
    -attime 1735689600 -policy_check -explicit_policy \
    -policy 2.16.840.1.101.3.2.1.3.6 </dev/null >"$TMP/client.out" 2>&1; do
    i=$((i + 1))
    if [ "$i" -ge 20 ]; then
        echo "s_client could not connect to 127.0.0.1:$PORT" >&2
        cat "$TMP/server.log" "$TMP/client.out" >&2
        exit 1
    fi
    sleep 0.2
done

count=$(grep -c -- '-----BEGIN CERTIFICATE-----' "$TMP/client.out" || true)
grep -E '^ *[0-9]+ s:' "$TMP/client.out"
grep -E '^Verify return code' "$TMP/client.out"
if [ "$count" -eq 5 ] && grep -q '^Verify return code: 0 (ok)' "$TMP/client.out"; then
    echo "OK: server sent $count certificates; chain verifies under policy 2.16.840.1.101.3.2.1.3.6"
else
    echo "FAIL: server sent $count certificates (want 5) or verification failed" >&2
    exit 1
fi
