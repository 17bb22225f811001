#!/bin/sh
# Run both path-validation oracles over every case in expected.tsv and check
# that each one agrees with the "expected" column.
#
#   sh tests/fpki_lab/oracles.sh OUTDIR        (OUTDIR as built by make.sh)
#
# Environment:
#   PYTHON   interpreter with pyhanko-certvalidator installed (default python3)
#
# Prints one line per case; writes the observed table (expected.tsv format)
# to OUTDIR/observed.tsv. Exit status 1 if any oracle disagrees with the
# expected verdict, 2 on usage/setup errors.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
OUT=$1
HERE=$(cd "$(dirname "$0")" && pwd)
TSV=$HERE/expected.tsv
PYTHON=${PYTHON:-python3}
ATTIME=1735689600          # 2025-01-01T00:00:00Z
ANY_POLICY=2.5.29.32.0
TAB=$(printf '\t')

[ -f "$OUT/root.pem" ] || { echo "no $OUT/root.pem; run make.sh first" >&2; exit 2; }
"$PYTHON" -c 'import pyhanko_certvalidator' 2>/dev/null || {
    echo "$PYTHON cannot import pyhanko_certvalidator (pip install pyhanko-certvalidator; set PYTHON)" >&2
    exit 2
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

# openssl_oracle CHAIN POLICIES EXPLICIT -> prints "valid" or "invalid: ..."
#
# POLICIES "any" is passed as `-policy 2.5.29.32.0`: OpenSSL treats an absent
# -policy as an EMPTY user-initial-policy-set (tree_calculate_user_set() adds
# nothing), not as {anyPolicy}. "none" reproduces that empty set.
openssl_oracle() {
    chain=$1 pols=$2 explicit=$3
    awk -v L="$TMP/leaf.pem" -v R="$TMP/untrusted.pem" '
        /-----BEGIN CERTIFICATE-----/ { n++ }
        { print > (n == 1 ? L : R) }' "$OUT/$chain"
    set -- -attime "$ATTIME" -purpose sslserver -policy_check
    [ "$explicit" = 1 ] && set -- "$@" -explicit_policy
    case $pols in
        any)  set -- "$@" -policy "$ANY_POLICY" ;;
        none) ;;
        *)    for p in $(echo "$pols" | tr ',' ' '); do set -- "$@" -policy "$p"; done ;;
    esac
    if openssl verify "$@" -CAfile "$OUT/root.pem" -untrusted "$TMP/untrusted.pem" \
        "$TMP/leaf.pem" >"$TMP/ossl.out" 2>&1 </dev/null; then
        echo valid
    else
        err=$(sed -n 's/^error \([0-9]*\) at \([0-9]*\) depth lookup: \(.*\)$/err \1 at depth \2: \3/p' \
            "$TMP/ossl.out" | head -n 1)
        echo "invalid: ${err:-$(head -n 1 "$TMP/ossl.out")}"
    fi
}

# pyhanko_oracle CHAIN POLICIES EXPLICIT -> prints "valid" or "invalid: ..."
pyhanko_oracle() {
    chain=$1 pols=$2 explicit=$3
    rc=0
    "$PYTHON" "$HERE/pyhanko_verdict.py" "$OUT/root.pem" "$OUT/$chain" "$ATTIME" \
        "$pols" "$explicit" >"$TMP/py.out" 2>"$TMP/py.err" </dev/null || rc=$?
    case $rc in
        0) echo valid ;;
        1) "$PYTHON" - "$TMP/py.out" <<'EOF'
import json, re, sys
e = json.load(open(sys.argv[1]))["error"]
m = re.search(r"no valid set of policies for (.*?)\.?$", e)
if m:
    e = "no valid set of policies for " + m.group(1)
elif "permitted namespace" in e:
    e = "name not in permitted subtree (" + e.split("of type ")[-1].split(" ")[0] + ")"
print("invalid: " + e[:100])
EOF
           ;;
        *) echo "ERROR(rc=$rc): $(head -c 200 "$TMP/py.err" | tr '\n' ' ')" ;;
    esac
}

verdict_word() { echo "${1%%:*}"; }

fail=0
n=0
head -n 1 "$TSV" >"$OUT/observed.tsv"
printf '%-28s %-8s %-8s %-8s %s\n' CASE EXPECTED OPENSSL PYHANKO RESULT
while IFS="$TAB" read -r name chain pols explicit expected _ossl _py reason; do
    case $name in ''|'#'*|case) continue ;; esac
    n=$((n + 1))
    ov=$(openssl_oracle "$chain" "$pols" "$explicit")
    pv=$(pyhanko_oracle "$chain" "$pols" "$explicit")
    ow=$(verdict_word "$ov")
    pw=$(verdict_word "$pv")
    if [ "$ow" = "$expected" ] && [ "$pw" = "$expected" ]; then
        res=agree
    else
        res=DISAGREE
        fail=1
    fi
    printf '%-28s %-8s %-8s %-8s %s\n' "$name" "$expected" "$ow" "$pw" "$res"
    [ "$res" = agree ] || printf '    openssl: %s\n    pyhanko: %s\n' "$ov" "$pv"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$chain" "$pols" "$explicit" \
        "$expected" "$ov" "$pv" "$reason" >>"$OUT/observed.tsv"
done <"$TSV"

[ "$n" -gt 0 ] || { echo "no cases read from $TSV" >&2; exit 2; }
if [ "$fail" -ne 0 ]; then
    echo "FAIL: at least one oracle disagrees with expected.tsv (details above; table in $OUT/observed.tsv)"
    exit 1
fi
echo "OK: $n cases, both oracles agree with expected.tsv (table in $OUT/observed.tsv)"
