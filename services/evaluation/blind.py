"""RSA blind signatures (Chaum), textbook-correct, on Python integers: the anonymity of survey answers.

Why: a student must prove "I was invited and have not answered yet" without the
answer ever being linkable to them. The scheme, per survey (one campaign, one
institution), with its own RSA key (n, e, d):

1. The student's client picks a random token t (32 bytes) and a random r
   coprime to n, and sends only the *blinded* value  b = H(t) * r^e mod n,
   where H is a full-domain hash of t into Z_n (MGF1 over SHA-256, bound to
   the survey and its key).
2. The service checks the student is invited (an active enrolment at that
   institution in that campaign), records "token issued" for (survey, student)
   exactly once (a primary key), and answers  b^d mod n.  Because r is
   uniformly random, b is uniformly distributed in Z_n*: it says nothing
   about t, so the service cannot later recognise t.
3. The client unblinds  s = b^d * r^-1 = H(t)^d mod n  and later submits the
   answer with (t, s) only, without any identity (a public endpoint).
4. The service verifies s^e = H(t) mod n (only a holder of a signature from
   step 2 can produce one: RSA-FDH is unforgeable under the RSA assumption)
   and stores the answer under SHA-256(t), unique per survey: once per token,
   and one token per invited student, so once per student.

The answers table holds the survey, SHA-256(t), the scores, the free text and
the day of answering: nothing that joins to a student, and the signing step
never saw t or s. Remaining linkage by timing is mitigated in `surveys.py`.

The key is generated at survey setup by a pure-Python Miller-Rabin prime
generator (the `cryptography` package is not part of the stack); 2048-bit
modulus, e = 65537. The private exponent stays in the service's database.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass

E = 65537
KEY_BITS = 2048
_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % q for q in range(2, int(p**0.5) + 1))]


@dataclass(frozen=True)
class PublicKey:
    n: int
    e: int = E

    @property
    def size(self) -> int:
        return (self.n.bit_length() + 7) // 8


@dataclass(frozen=True)
class KeyPair:
    public: PublicKey
    d: int


def is_probable_prime(n: int, rounds: int = 40) -> bool:
    """Miller-Rabin with random bases: a composite passes with probability below 4^-rounds."""
    if n < 2:
        return False
    for p in [2, *_SMALL_PRIMES]:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def random_prime(bits: int) -> int:
    while True:
        # Top two bits set so that p*q has exactly 2*bits bits; odd.
        candidate = secrets.randbits(bits) | (3 << (bits - 2)) | 1
        if (candidate - 1) % E and is_probable_prime(candidate):
            return candidate


def generate_key(bits: int = KEY_BITS) -> KeyPair:
    while True:
        p, q = random_prime(bits // 2), random_prime(bits // 2)
        if p == q:
            continue
        phi = (p - 1) * (q - 1)
        if math.gcd(E, phi) == 1:
            return KeyPair(PublicKey(p * q, E), pow(E, -1, phi))


def full_domain_hash(key: PublicKey, context: str, token: bytes) -> int:
    """H(token) in Z_n: MGF1-SHA-256 expanded to one bit less than n, bound to the context and key."""
    seed = hashlib.sha256(
        b"upskilling-survey-fdh|" + context.encode() + b"|" + key.n.to_bytes(key.size, "big") + b"|" + token
    ).digest()
    bits = key.n.bit_length() - 1
    output, counter = b"", 0
    while len(output) * 8 < bits:
        output += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return int.from_bytes(output, "big") >> (len(output) * 8 - bits)


def sign_blinded(key: KeyPair, blinded: int) -> int:
    """The signer's step: it sees only a uniformly random element of Z_n."""
    if not 1 < blinded < key.public.n - 1:
        raise ValueError("blinded message out of range")
    return pow(blinded, key.d, key.public.n)


def verify(key: PublicKey, context: str, token: bytes, signature: int) -> bool:
    return 0 < signature < key.n and pow(signature, key.e, key.n) == full_domain_hash(key, context, token)


# The client's side (a portal implements the same in the browser); used by tests and integrators.


def blind(key: PublicKey, context: str, token: bytes) -> tuple[int, int]:
    """(blinded message, blinding factor r) for a token the client keeps secret."""
    while True:
        r = secrets.randbelow(key.n - 2) + 2
        if math.gcd(r, key.n) == 1:
            return full_domain_hash(key, context, token) * pow(r, key.e, key.n) % key.n, r


def unblind(key: PublicKey, blind_signature: int, r: int) -> int:
    return blind_signature * pow(r, -1, key.n) % key.n
