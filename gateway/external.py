"""Tokens of an external identity provider, checked against the keys it publishes (JWKS)."""

from __future__ import annotations

import jwt

from servicekit.identity import INSTITUTION_SYSTEM, Identity

from .config import ExternalIdentityProvider
from .tokens import LEEWAY_SECONDS, TokenRefused, identity_from_claims

# Asymmetric only: an HS256 token "signed" with the provider's public key must never pass.
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
JWKS_TIMEOUT = 2.0


class ExternalTokens:
    def __init__(self, provider: ExternalIdentityProvider):
        self.provider = provider
        # Keys are cached (5 minutes); an unknown key id fetches the set again, at most every 30 s.
        self.keys = jwt.PyJWKClient(provider.jwks_url, cache_keys=True, lifespan=300, timeout=JWKS_TIMEOUT)

    def claims_issuer(self, token: str) -> bool:
        try:
            return jwt.decode(token, options={"verify_signature": False}).get("iss") == self.provider.issuer
        except jwt.PyJWTError:
            return False

    def read(self, token: str) -> Identity:
        try:
            key = self.keys.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                issuer=self.provider.issuer,
                audience=self.provider.audience,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRefused("the identity provider's token has expired") from None
        except jwt.PyJWKClientConnectionError:
            raise TokenRefused("the identity provider's keys could not be fetched") from None
        except jwt.PyJWTError as exc:
            raise TokenRefused(f"invalid identity provider token ({type(exc).__name__})") from None
        theirs = claims.get(self.provider.role_claim)
        role = self.provider.roles.get(theirs) if isinstance(theirs, str) else None
        if role is None:
            raise TokenRefused("the identity provider's role is not one this system maps (GATEWAY_EXTERNAL_ROLES)")
        if role == INSTITUTION_SYSTEM:
            raise TokenRefused("institution systems sign their requests with an API key")
        return identity_from_claims(claims | {"role": role}, f"ext:{claims['sub']}", role_claim="role")
