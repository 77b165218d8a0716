"""The signer's side of RFC 9474 blind RSA signatures, variant RSABSSA-SHA384-PSS-Randomized: survey anonymity.

Why: a student must prove "I was invited and have not answered yet" without the answer ever being
linkable to them. Per survey (one campaign, one institution) the service holds an RSA key:

1. The student's client (RFC 9474 §4.1-4.2; e.g. @cloudflare/blindrsa-ts in a browser) prepares its
   one-time token, `prepared = 32 random bytes || message`, encodes it with EMSA-PSS (SHA-384,
   MGF1-SHA-384, 48-byte salt) and sends only the blinded value `m * r^e mod n` for a random r.
2. The service checks the student is invited, records "token issued" once per student (a primary key)
   and answers `BlindSign` (§4.3): the RSA private operation on the blinded value. The blinded value is
   uniformly random whatever the token, so the service can never recognise the token later.
3. The client finalises (§4.4): the signature is an ordinary RSASSA-PSS signature (RFC 8017) on the
   prepared message, which any library verifies with the survey's public key.
4. The answer is sent with (prepared message, signature) and no identity at all; the service verifies
   the signature and keeps the answer under SHA-256(prepared message): once per token.

The private operation here: cryptography (OpenSSL) exposes no raw RSA, so it is done on the key's
private numbers, with the Chinese remainder theorem and RSA blinding (the exponentiation runs on
`m * r^e` for a fresh random r, so its timing has nothing to do with the value the caller chose:
Python's integers are not constant-time), then the RFC's self-check (`s^e mod n == m`) before
answering, so that a faulty computation never leaks the key's factors.

Key size: 3072 bits. Anonymity does not depend on it (the blinding hides the token perfectly); only
unforgeability does, and only until the survey closes. 3072-bit RSA gives 128-bit security (NIST
SP 800-57), still acceptable after 2030, unlike 2048; 4096 would cost about four times as much per
signature in pure Python for nothing the survey needs.

Keys are made by `cryptography` and kept as PKCS#8 PEM encrypted under the survey key-encryption key
(SURVEY_KEY_ENCRYPTION_KEY, a key of its own purpose); each survey's public key is published as SPKI PEM.
"""

from __future__ import annotations

import functools
import hashlib
import math
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from servicekit.keys import secret

VARIANT = "RSABSSA-SHA384-PSS-Randomized"
KEY_BITS = 3072
PUBLIC_EXPONENT = 65537
SALT_LENGTH = 48  # bytes: the SHA-384 output length, as the variant requires
PREFIX_LENGTH = 32  # the randomized variant's message prefix
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=SALT_LENGTH)


class SigningFailure(Exception):
    """The RFC's self-check caught a wrong signature (a fault): nothing may be answered."""


def key_encryption_key(var_dir: Path) -> bytes:
    """SURVEY_KEY_ENCRYPTION_KEY; on one machine, made once in var/keys/survey-key-encryption.key."""
    return secret(var_dir, "SURVEY_KEY_ENCRYPTION_KEY")


def generate_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(PUBLIC_EXPONENT, KEY_BITS)


def encrypted_pem(key: rsa.RSAPrivateKey, kek: bytes) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(kek)
    ).decode()


@functools.lru_cache(maxsize=64)
def private_key(pem: str, kek: bytes) -> rsa.RSAPrivateKey:
    """The survey's key from its encrypted PEM (loading checks the key: kept per process)."""
    return serialization.load_pem_private_key(pem.encode(), kek)


def spki_pem(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def fingerprint(public_pem: str) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo: what every student's client can compare."""
    public = serialization.load_pem_public_key(public_pem.encode())
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def modulus_length(public_pem: str) -> int:
    """`modulus_len` of the RFC: the size in bytes of blinded messages and signatures."""
    return math.ceil(serialization.load_pem_public_key(public_pem.encode()).key_size / 8)


def blind_sign(key: rsa.RSAPrivateKey, blinded_msg: bytes) -> bytes:
    """RFC 9474 §4.3 BlindSign. ValueError for a blinded message of the wrong size or out of range."""
    numbers = key.private_numbers()
    n, e = numbers.public_numbers.n, numbers.public_numbers.e
    modulus_len = math.ceil(n.bit_length() / 8)
    if len(blinded_msg) != modulus_len:
        raise ValueError(f"the blinded message must be {modulus_len} bytes")
    m = int.from_bytes(blinded_msg, "big")
    if m >= n:
        raise ValueError("message representative out of range")
    s = _rsasp1(numbers, m)
    if pow(s, e, n) != m:  # RSAVP1(pk, s) == m, or a fault would reveal the key
        raise SigningFailure()
    return s.to_bytes(modulus_len, "big")


def _rsasp1(numbers: rsa.RSAPrivateNumbers, m: int) -> int:
    """RFC 8017 §5.1.2 with CRT, on a blinded representative (RSA blinding against timing)."""
    n, e = numbers.public_numbers.n, numbers.public_numbers.e
    while True:
        r = secrets.randbelow(n - 2) + 2
        if math.gcd(r, n) == 1:
            break
    c = m * pow(r, e, n) % n
    s1 = pow(c % numbers.p, numbers.dmp1, numbers.p)
    s2 = pow(c % numbers.q, numbers.dmq1, numbers.q)
    h = numbers.iqmp * (s1 - s2) % numbers.p
    return (s2 + numbers.q * h) * pow(r, -1, n) % n


def verify(public_pem: str, prepared_msg: bytes, signature: bytes) -> bool:
    """A finalised token: an ordinary RSASSA-PSS signature (SHA-384, MGF1-SHA-384, 48-byte salt)."""
    public = serialization.load_pem_public_key(public_pem.encode())
    try:
        public.verify(signature, prepared_msg, PSS, hashes.SHA384())
    except InvalidSignature:
        return False
    return True
