"""OAuth 2.1 access tokens (JWTs) from an external authorization server, validated with PyJWT against its JWKS.

Signature, issuer, audience (this gateway's resource URL), expiry and not-before are all required; the JWKS is
cached and fetched again when a token names a key id it does not hold (the server rotated its keys). A configured
claim's values map to grants, which make the caller's `Principal`.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import anyio.to_thread

from mcp_gateway.auth.keys import principal_for
from mcp_gateway.auth.principal import Principal
from mcp_gateway.auth.settings import OAuthSettings

logger = logging.getLogger(__name__)

_JWKS_TIMEOUT_SECONDS = 10.0


class TokenRejected(Exception):
    """The token is not acceptable; the message says why without quoting the token."""


class KeysUnavailable(Exception):
    """The authorization server's keys cannot be fetched, so no token can be checked: the gateway's trouble, not
    the caller's (503, not 401, which would send a client off to log in again for nothing)."""


class TokenValidator:
    def __init__(self, settings: OAuthSettings) -> None:
        # Imported only by a gateway that accepts OAuth tokens: PyJWT and cryptography cost ~50 ms of start-up.
        import jwt

        self.settings = settings
        self._jwks = jwt.PyJWKClient(
            settings.jwks_uri,
            cache_jwk_set=True,
            lifespan=300,
            timeout=_JWKS_TIMEOUT_SECONDS,
            cooldown_duration=settings.jwks_refresh_cooldown,
        )

    async def principal(self, token: str) -> Principal:
        # PyJWKClient fetches with urllib, which blocks: keep the event loop free while it does.
        claims = await anyio.to_thread.run_sync(self._verified_claims, token)
        return self._principal_from(claims)

    def _verified_claims(self, token: str) -> dict[str, Any]:
        import jwt

        settings = self.settings
        try:
            signing_key = self._jwks.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key,
                algorithms=settings.algorithms,
                audience=settings.accepted_audiences(),
                issuer=settings.issuer,
                leeway=settings.leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWKClientConnectionError as error:
            logger.warning("cannot fetch the JWKS of %s: %s", settings.issuer, error)
            raise KeysUnavailable("the authorization server's keys cannot be fetched") from None
        except jwt.PyJWKClientError:
            raise TokenRejected("the token is signed with a key the authorization server does not publish") from None
        except jwt.ExpiredSignatureError:
            raise TokenRejected("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected("the token is not meant for this resource (audience)") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("the token is from another issuer") from None
        except jwt.PyJWTError as error:
            # PyJWT's messages describe the check that failed, never the token's contents.
            raise TokenRejected(f"invalid token ({type(error).__name__})") from None
        return claims

    def _principal_from(self, claims: dict[str, Any]) -> Principal:
        settings = self.settings
        values: Any = claims
        # A dotted name reaches into nested claims, such as Keycloak's `realm_access.roles`.
        for part in settings.claim.split("."):
            values = values.get(part) if isinstance(values, dict) else None
        if isinstance(values, str):
            values = values.split()
        granted = [settings.grants[value] for value in values or ()
                   if isinstance(value, str) and value in settings.grants]
        subject = str(claims["sub"])
        name = f"{subject}@{claims['iss']}"
        if not granted:
            return Principal(name=name, servers=(), tools=())
        first, *others = (principal_for(name, grant) for grant in granted)
        return replace(first, admin=any(grant.admin for grant in granted), also=tuple(others))
