# Type information for a pip-installed magiclink (PEP 561 has no marker for a
# single-file module, so a stub-only package carries it).  magiclink.py is
# itself fully annotated: a vendored copy needs nothing but the file.  CI runs
# mypy's stubtest against the installed module, so this cannot drift.
from collections.abc import Iterable
from typing import Any, Final, NamedTuple

__all__ = [
    "DEFAULT_ISSUER",
    "MAX_TOKEN_LENGTH",
    "REDIRECT_PAGES",
    "ExpiredTokenError",
    "ImmatureTokenError",
    "InvalidAlgorithmError",
    "InvalidClaimsError",
    "InvalidLinkError",
    "InvalidSignatureError",
    "InvalidTokenError",
    "MagicLinkError",
    "MalformedTokenError",
    "PortalLink",
    "build_url",
    "decode_unverified",
    "generate_token",
    "magic_link",
    "parse_url",
    "verify_token",
    "verify_url",
]

__version__: Final[str]
DEFAULT_ISSUER: Final[str]
MAX_TOKEN_LENGTH: Final[int]
REDIRECT_PAGES: Final[tuple[str, ...]]

class MagicLinkError(ValueError): ...
class InvalidTokenError(MagicLinkError): ...
class MalformedTokenError(InvalidTokenError): ...
class InvalidAlgorithmError(InvalidTokenError): ...
class InvalidSignatureError(InvalidTokenError): ...
class ExpiredTokenError(InvalidTokenError): ...
class ImmatureTokenError(InvalidTokenError): ...
class InvalidClaimsError(InvalidTokenError): ...
class InvalidLinkError(InvalidTokenError): ...

class PortalLink(NamedTuple):
    token: str
    company: str | None
    domain: str | None
    sandbox: bool
    redirect_to: str | None
    locale: str | None
    @property
    def host(self) -> str: ...

def generate_token(
    key: str | bytes,
    customer_id: int | str,
    ttl: float = 3600,
    *,
    issuer: str = ...,
    now: float | None = None,
) -> str: ...
def build_url(
    token: str,
    company: str | None = None,
    *,
    sandbox: bool = False,
    domain: str | None = None,
    redirect_to: str | None = None,
    locale: str | None = None,
) -> str: ...
def magic_link(
    key: str | bytes,
    customer_id: int | str,
    company: str | None = None,
    *,
    ttl: float = 3600,
    sandbox: bool = False,
    domain: str | None = None,
    redirect_to: str | None = None,
    locale: str | None = None,
    issuer: str = ...,
    now: float | None = None,
) -> str: ...
def verify_token(
    token: str,
    key: str | bytes | Iterable[str | bytes],
    *,
    leeway: float = 0,
    now: float | None = None,
    issuer: str | Iterable[str] | None = None,
) -> dict[str, Any]: ...
def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]: ...
def parse_url(url: str) -> PortalLink: ...
def verify_url(
    url: str,
    key: str | bytes | Iterable[str | bytes],
    *,
    company: str | None = None,
    domain: str | None = None,
    sandbox: bool | None = None,
    leeway: float = 0,
    now: float | None = None,
    issuer: str | Iterable[str] | None = None,
) -> dict[str, Any]: ...
