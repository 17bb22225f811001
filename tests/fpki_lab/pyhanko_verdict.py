#!/usr/bin/env python3
"""Second path-validation oracle for the FPKI lab, using pyhanko-certvalidator.

    pyhanko_verdict.py ROOT CHAIN TIME POLICIES EXPLICIT

ROOT      PEM file with the trust anchor (root.pem)
CHAIN     PEM file, leaf first, then the intermediates (anchor excluded)
TIME      validation time, Unix seconds (e.g. 1735689600 = 2025-01-01T00:00Z)
POLICIES  user-initial-policy-set: comma-separated OIDs, "any" ({anyPolicy}),
          or "none" (the empty set)
EXPLICIT  initial-explicit-policy: 0 or 1

Prints one JSON object: {"valid": bool, "error": str, "policies": [...]}
where "policies" is the user-constrained policy set, each entry
"<user-domain OID> -> <issuer-domain OID (as asserted by the leaf)>".
Exit status: 0 valid, 1 invalid, 2 usage error, 3 internal error.

Written against pyhanko-certvalidator 0.33 (async-only CertificateValidator,
RFC 9618 policy graph). No network: allow_fetching=False, revocation_mode
"soft-fail" (the lab certificates carry no CRL DP / AIA / OCSP pointers).
The usage check mirrors `openssl verify -purpose sslserver`:
keyUsage digitalSignature + EKU serverAuth on the leaf.
"""

import asyncio
import json
import sys
from datetime import datetime, timezone

from asn1crypto import pem, x509
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.policy_decl import PKIXValidationParams


def load_pems(path):
    with open(path, "rb") as f:
        data = f.read()
    return [
        x509.Certificate.load(der)
        for _, _, der in pem.unarmor(data, multiple=True)
    ]


async def verdict(root, chain, moment, policies, explicit):
    ctx = ValidationContext(
        trust_roots=[root],
        moment=moment,
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    params = PKIXValidationParams(
        user_initial_policy_set=policies,
        initial_explicit_policy=explicit,
    )
    validator = CertificateValidator(
        chain[0], chain[1:], validation_context=ctx, pkix_params=params
    )
    try:
        path = await validator.async_validate_usage(
            {"digital_signature"}, {"server_auth"}
        )
    except Exception as e:  # any failure is an "invalid" verdict
        return {"valid": False, "error": f"{type(e).__name__}: {e}", "policies": []}
    qp = path.qualified_policies() or frozenset()
    return {
        "valid": True,
        "error": "",
        "policies": sorted(
            f"{p.user_domain_policy_id} -> {p.issuer_domain_policy_id}" for p in qp
        ),
    }


def main(argv):
    if len(argv) != 6 or argv[5] not in ("0", "1"):
        print(__doc__, file=sys.stderr)
        return 2
    roots = load_pems(argv[1])
    chain = load_pems(argv[2])
    if len(roots) != 1 or not chain:
        print("ROOT must hold exactly one certificate, CHAIN at least one",
              file=sys.stderr)
        return 2
    moment = datetime.fromtimestamp(int(argv[3]), tz=timezone.utc)
    if argv[4] == "any":
        policies = frozenset(["any_policy"])
    elif argv[4] == "none":
        policies = frozenset()
    else:
        policies = frozenset(p for p in argv[4].split(",") if p)
    result = asyncio.run(
        verdict(roots[0], chain, moment, policies, argv[5] == "1")
    )
    print(json.dumps(result))
    return 0 if result["valid"] else 1


if __name__ == "__main__":
    try:
        rc = main(sys.argv)
    except Exception as e:  # a bug here must not read as an "invalid" verdict
        print(f"pyhanko_verdict.py: internal error: {type(e).__name__}: {e}",
              file=sys.stderr)
        rc = 3
    sys.exit(rc)
