"""What a survey key costs the evaluation service, per RSA modulus size (RFC 9474 RSABSSA-SHA384-PSS-Randomized).

    python benchmarks/blind_signing.py [--sizes 2048 3072 4096] [--signatures 50]

Per size: generating a key (cryptography), loading it from its encrypted PKCS#8 PEM (done once per process
and survey), one BlindSign as the service does it (CRT on the private numbers, RSA blinding, the RFC's
self-check) and the same without the RSA blinding (what the blinding costs), and a verification of a
finalised token (cryptography's RSASSA-PSS verify). Medians in milliseconds. A script, not a test.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from services.evaluation import blind  # noqa: E402
from tests.support import rfc9474  # noqa: E402


def median_ms(action, times: int) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def crt_only(numbers: rsa.RSAPrivateNumbers, m: int) -> int:
    """The private operation with CRT but no blinding: the baseline the blinding is measured against."""
    s1, s2 = pow(m % numbers.p, numbers.dmp1, numbers.p), pow(m % numbers.q, numbers.dmq1, numbers.q)
    return s2 + numbers.q * (numbers.iqmp * (s1 - s2) % numbers.p)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 3072, 4096])
    parser.add_argument("--signatures", type=int, default=50)
    args = parser.parse_args()
    kek = secrets.token_urlsafe(48).encode()
    print(f"{'bits':>5} {'keygen':>8} {'load PEM':>9} {'BlindSign':>10} {'no blinding':>12} {'verify':>7}  (ms)")
    for bits in args.sizes:
        keygen = median_ms(lambda bits=bits: rsa.generate_private_key(65537, bits), 5)
        key = rsa.generate_private_key(65537, bits)
        pem = blind.encrypted_pem(key, kek)
        load = median_ms(lambda: blind.private_key.__wrapped__(pem, kek), 5)
        public = rfc9474.public_key(blind.spki_pem(key))
        prepared = rfc9474.prepare(secrets.token_bytes(32))
        blinded_msg, inv = rfc9474.blind(public, prepared)
        sign = median_ms(lambda: blind.blind_sign(key, blinded_msg), args.signatures)
        numbers, m = key.private_numbers(), int.from_bytes(blinded_msg, "big")
        bare = median_ms(lambda: crt_only(numbers, m), args.signatures)
        signature = rfc9474.finalize(public, prepared, blind.blind_sign(key, blinded_msg), inv)
        verify = median_ms(lambda: blind.verify(blind.spki_pem(key), prepared, signature), args.signatures)
        print(f"{bits:>5} {keygen:>8.1f} {load:>9.1f} {sign:>10.2f} {bare:>12.2f} {verify:>7.2f}")
        print(f"       BlindSign / no blinding: {sign / bare:.2f}x")


if __name__ == "__main__":
    main()
