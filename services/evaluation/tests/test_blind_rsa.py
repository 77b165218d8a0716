"""RFC 9474 RSABSSA-SHA384-PSS-Randomized: the RFC's own test vectors through the service's signer and a client
written from the RFC alone (tests/support/rfc9474.py); the signer's self-check; keys encrypted at rest."""

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from services.evaluation import blind
from tests.support import rfc9474

VECTORS = json.loads((Path(__file__).parent / "data" / "rfc9474_vectors.json").read_text())["vectors"]


def number(value: str) -> int:
    return int(value, 16)


def signing_key(vector: dict) -> rsa.RSAPrivateKey:
    p, q, d = number(vector["p"]), number(vector["q"]), number(vector["d"])
    public = rsa.RSAPublicNumbers(number(vector["e"]), number(vector["n"]))
    crt = rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q)
    return rsa.RSAPrivateNumbers(p, q, d, *crt, public).private_key()


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_rfc9474_appendix_a_vector_every_intermediate_value(vector):
    key = signing_key(vector)
    public = key.public_key()
    n, e = number(vector["n"]), number(vector["e"])
    msg, prefix = bytes.fromhex(vector["msg"]), bytes.fromhex(vector["msg_prefix"])
    randomized = vector["is_randomized"] == "0x01"
    assert (randomized, len(prefix)) == ((True, 32) if vector["name"] == blind.VARIANT else (False, 0))

    prepared = rfc9474.prepare(msg, prefix) if randomized else msg  # §4.1
    assert prepared == bytes.fromhex(vector["input_msg"])
    salt, inv = bytes.fromhex(vector["salt"]), number(vector["inv"])
    assert number(vector["sLen"]) == len(salt) == blind.SALT_LENGTH
    encoded = rfc9474.emsa_pss_encode(prepared, n.bit_length() - 1, salt)
    if "encoded_msg" in vector:
        assert encoded == bytes.fromhex(vector["encoded_msg"])
    r = pow(inv, -1, n)
    blinded_msg, inv_out = rfc9474.blind(public, prepared, salt=salt, r=r)  # §4.2
    # blinded_msg = encoded_msg * r^e mod n: equal to the RFC's, it also proves encoded_msg where none is given
    assert (blinded_msg, inv_out) == (bytes.fromhex(vector["blinded_msg"]), inv)
    assert int.from_bytes(blinded_msg, "big") == int.from_bytes(encoded, "big") * pow(r, e, n) % n

    blind_sig = blind.blind_sign(key, blinded_msg)  # §4.3, the service: CRT, blinded, self-checked
    assert blind_sig == bytes.fromhex(vector["blind_sig"])
    sig = rfc9474.finalize(public, prepared, blind_sig, inv)  # §4.4
    assert sig == bytes.fromhex(vector["sig"])

    # an ordinary RSASSA-PSS signature (SHA-384, MGF1-SHA-384, 48-byte salt) on the prepared message
    public.verify(sig, prepared, padding.PSS(padding.MGF1(hashes.SHA384()), 48), hashes.SHA384())
    pem = blind.spki_pem(public)
    assert blind.verify(pem, prepared, sig)
    assert not blind.verify(pem, prepared[:-1] + bytes([prepared[-1] ^ 1]), sig)
    assert not blind.verify(pem, prepared, blind_sig)


class Faulty:
    """A key whose CRT computation goes wrong (a fault): without the self-check, its output reveals p and q."""

    def __init__(self, key: rsa.RSAPrivateKey):
        numbers = key.private_numbers()
        self.numbers = rsa.RSAPrivateNumbers(
            numbers.p, numbers.q, numbers.d, numbers.dmp1 ^ 2, numbers.dmq1, numbers.iqmp, numbers.public_numbers
        )

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        return self.numbers


def test_the_signer_checks_its_signature_before_answering_and_refuses_bad_input():
    vector = VECTORS[0]
    key, blinded_msg = signing_key(vector), bytes.fromhex(vector["blinded_msg"])
    with pytest.raises(blind.SigningFailure):
        blind.blind_sign(Faulty(key), blinded_msg)
    n = number(vector["n"])
    for wrong in (blinded_msg[1:], b"\x00" + blinded_msg, n.to_bytes(len(blinded_msg), "big")):
        with pytest.raises(ValueError):
            blind.blind_sign(key, wrong)


def test_a_new_survey_key_is_3072_bit_and_kept_encrypted_under_its_own_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SURVEY_KEY_ENCRYPTION_KEY", raising=False)
    kek = blind.key_encryption_key(tmp_path)
    assert (tmp_path / "keys" / "survey-key-encryption.key").stat().st_mode & 0o777 == 0o600
    assert blind.key_encryption_key(tmp_path) == kek  # made once
    key = blind.generate_key()
    assert (key.key_size, key.public_key().public_numbers().e) == (3072, 65537)
    pem = blind.encrypted_pem(key, kek)
    assert pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(pem.encode(), None)
    with pytest.raises(ValueError):
        serialization.load_pem_private_key(pem.encode(), b"not the key-encryption key")
    loaded = blind.private_key(pem, kek)
    assert loaded.private_numbers() == key.private_numbers()
    public = blind.spki_pem(key)
    assert public.startswith("-----BEGIN PUBLIC KEY-----") and blind.modulus_length(public) == 384

    # the whole exchange with a fresh key: prepare, blind, sign, finalize, verify
    client_key = rfc9474.public_key(public)
    prepared = rfc9474.prepare(b"one-time token")
    blinded_msg, inv = rfc9474.blind(client_key, prepared)
    signature = rfc9474.finalize(client_key, prepared, blind.blind_sign(loaded, blinded_msg), inv)
    assert blind.verify(public, prepared, signature)
    monkeypatch.setenv("SURVEY_KEY_ENCRYPTION_KEY", "configured-elsewhere")
    assert blind.key_encryption_key(tmp_path) == b"configured-elsewhere"
