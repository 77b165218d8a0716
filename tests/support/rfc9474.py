"""A client of RFC 9474 blind RSA signatures, variant RSABSSA-SHA384-PSS-Randomized, written from the RFC
(and the EMSA-PSS encoding of RFC 8017 §9.1.1) alone: it shares no code with the evaluation service.

What a student's client does (a browser would use an RFC 9474 library such as @cloudflare/blindrsa-ts):

    key = public_key(survey["public_key"]["pem"])
    prepared = prepare(secrets.token_bytes(32))            # §4.1: 32 random bytes || message
    blinded_msg, inv = blind(key, prepared)                # §4.2: sent to the service
    blind_sig = <the service's answer>                     # §4.3, done by the service
    signature = finalize(key, prepared, blind_sig, inv)    # §4.4: an RSASSA-PSS signature on `prepared`
"""

from __future__ import annotations

import hashlib
import math
import secrets

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

H_LEN = 48  # SHA-384
S_LEN = 48  # the variant's salt length
PREFIX_LEN = 32  # the randomized variant's message prefix


def public_key(pem: str) -> rsa.RSAPublicKey:
    """The survey's public key, as published: SubjectPublicKeyInfo in PEM."""
    return serialization.load_pem_public_key(pem.encode())


def modulus_len(key: rsa.RSAPublicKey) -> int:
    return math.ceil(key.public_numbers().n.bit_length() / 8)


def prepare(msg: bytes, prefix: bytes | None = None) -> bytes:
    """§4.1 Prepare, randomized: `random(32) || msg`."""
    prefix = secrets.token_bytes(PREFIX_LEN) if prefix is None else prefix
    assert len(prefix) == PREFIX_LEN
    return prefix + msg


def mgf1(seed: bytes, length: int) -> bytes:
    """RFC 8017 B.2.1 with SHA-384."""
    out = b"".join(hashlib.sha384(seed + i.to_bytes(4, "big")).digest() for i in range(math.ceil(length / H_LEN)))
    return out[:length]


def emsa_pss_encode(msg: bytes, em_bits: int, salt: bytes) -> bytes:
    """RFC 8017 §9.1.1 EMSA-PSS-ENCODE with SHA-384, MGF1-SHA-384 and the given salt."""
    em_len = math.ceil(em_bits / 8)
    m_hash = hashlib.sha384(msg).digest()
    if em_len < H_LEN + len(salt) + 2:
        raise ValueError("encoding error")
    h = hashlib.sha384(b"\x00" * 8 + m_hash + salt).digest()
    db = b"\x00" * (em_len - len(salt) - H_LEN - 2) + b"\x01" + salt
    masked_db = bytes(a ^ b for a, b in zip(db, mgf1(h, em_len - H_LEN - 1)))
    top_bits = 8 * em_len - em_bits  # cleared in the leftmost octet
    masked_db = bytes([masked_db[0] & (0xFF >> top_bits)]) + masked_db[1:]
    return masked_db + h + b"\xbc"


def blind(key: rsa.RSAPublicKey, prepared: bytes, *, salt: bytes | None = None, r: int | None = None):
    """§4.2 Blind: (blinded_msg, inv). `salt` and `r` are random unless given (test vectors give them)."""
    n, e = key.public_numbers().n, key.public_numbers().e
    salt = secrets.token_bytes(S_LEN) if salt is None else salt
    encoded_msg = emsa_pss_encode(prepared, n.bit_length() - 1, salt)
    m = int.from_bytes(encoded_msg, "big")
    if math.gcd(m, n) != 1:
        raise ValueError("invalid input")
    while r is None:
        candidate = secrets.randbelow(n - 1) + 1
        r = candidate if math.gcd(candidate, n) == 1 else None
    inv = pow(r, -1, n)
    z = m * pow(r, e, n) % n
    return z.to_bytes(modulus_len(key), "big"), inv


def finalize(key: rsa.RSAPublicKey, prepared: bytes, blind_sig: bytes, inv: int) -> bytes:
    """§4.4 Finalize: the unblinded signature, verified as RSASSA-PSS before it is used."""
    n = key.public_numbers().n
    if len(blind_sig) != modulus_len(key):
        raise ValueError("unexpected input size")
    s = int.from_bytes(blind_sig, "big") * inv % n
    sig = s.to_bytes(modulus_len(key), "big")
    try:
        key.verify(sig, prepared, padding.PSS(padding.MGF1(hashes.SHA384()), S_LEN), hashes.SHA384())
    except InvalidSignature:
        raise ValueError("invalid signature") from None
    return sig
