# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The magiclink authors
# magiclink 1.1.0, a single-file module from the magiclink git repository.
"""Invoiced Magic Link sign-in tokens and URLs, made and verified.

Invoiced signs a customer into its customer portal when the browser opens
``https://{company}.invoiced.com/login/{token}``.  The token is a JSON Web
Token (RFC 7519) in the JWS compact serialization (RFC 7515), signed with
HS256, that is HMAC-SHA256 (RFC 7518 section 3.2), under the account's secret
Magic Link key.  Its header is ``{"alg":"HS256","typ":"JWT"}`` and its claims
are ``sub`` (the customer's numeric Invoiced id), ``iss`` (a name for the
service that made the token) and ``exp`` (expiry in UNIX seconds).

This module makes such tokens and URLs, and verifies tokens more strictly than
general-purpose JWT libraries: one algorithm, canonical base64url, strict JSON,
the signature checked before any claim is read, and every failure raised as a
subclass of :class:`MagicLinkError`.  It holds to the portal's own rules: a
link it makes always signs the customer in, and a token it calls valid the
portal accepts.  :func:`parse_url` and :func:`verify_url` read links back.
It needs nothing but the standard library, and its command line
(``python -m magiclink --help``) makes links one at a time or in bulk,
verifies them and inspects them.

>>> token = generate_token("secret", 1234, now=1700000000)
>>> verify_token(token, "secret", now=1700000000)["sub"]
'1234'
"""

from __future__ import annotations

import binascii
import collections  # already loaded by re
import hashlib
import hmac
import json
import re  # already loaded by json
import sys
import time

# Fail here, under an older Python, not somewhere deep inside a call.
if sys.version_info < (3, 10):  # noqa: UP036
    raise ImportError("magiclink needs Python 3.10 or newer")

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
    "generate_token",
    "magic_link",
    "parse_url",
    "verify_token",
    "verify_url",
]

__version__ = "1.1.0"

# Names for type checkers only: importing typing would cost every cold start.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any, NamedTuple, NoReturn

    _Key = str | bytes
    _Pads = tuple[Any, Any]  # inner and outer SHA-256 states of one key

#: The ``iss`` claim of tokens made here unless the caller names its service.
DEFAULT_ISSUER = "magiclink-python"

#: Pages the portal opens for ``?redirect_to=``.  Invoiced's documentation
#: also lists ``my_account``, which the portal does not know (it lands on the
#: account page only by a fallback): it is accepted and written ``account``.
REDIRECT_PAGES = (
    "account",
    "credit_notes",
    "invoices",
    "estimates",
    "payments",
    "pay",
    "balance_forward_statement",
    "open_item_statement",
    "add_payment_method",
    "update_billing_info",
)
_REDIRECT_ALIASES = {"my_account": "account"}

# ?locale=: a language (fr), or a language and a country (fr_CA).  Left for
# re's own cache to compile on first use, off the import's clock.
_LOCALE = r"[a-z]{2,3}(?:_[A-Z]{2})?"

#: Longer tokens are rejected before any decoding.
MAX_TOKEN_LENGTH = 8192

# base64url of the header this module writes: {"alg":"HS256","typ":"JWT"}.
_HEADER_SEGMENT = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

# Headers that other libraries write, known good, so not parsed again:
# ours (also PyJWT, jsonwebtoken), firebase/php-jwt's member order, and
# ruby-jwt 2.x without "typ".
_KNOWN_HEADER_SEGMENTS = frozenset(
    (
        _HEADER_SEGMENT,
        b"eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9",
        b"eyJhbGciOiJIUzI1NiJ9",
    )
)

_B64URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_TOKEN_ALPHABET = _B64URL_ALPHABET + b"."
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")

# In a canonical encoding the bits after the last whole byte are zero, so a
# segment of length 4n+2 ends in one of 4 characters, one of 4n+3 in one of 16.
_LAST_CHARS = {
    0: _B64URL_ALPHABET,
    2: b"AQgw",
    3: b"AEIMQUYcgkosw048",
}

# Largest NumericDate accepted: 9999-12-31T23:59:59Z.
_MAX_TIMESTAMP = 253402300799

# The portal looks the customer up by its numeric id, a signed 64-bit integer:
# 1 to 2**63 - 1, written in ASCII digits with no sign or leading zero.
_MAX_CUSTOMER_ID = 2**63 - 1
_CUSTOMER_ID_TEXT = re.compile(r"[1-9][0-9]{0,18}")

# RFC 7515 section 4.1.9: "typ" is compared without regard to ASCII case.
_ACCEPTED_TYPES = ("jwt", "application/jwt")

# Deepest nesting of JSON objects and arrays accepted in a header or payload.
_MAX_JSON_DEPTH = 32

_HOST_CHARS = b"abcdefghijklmnopqrstuvwxyz0123456789-"
_HEX_DIGITS = b"0123456789abcdef"
_MAX_LABEL_LENGTH = 63
_MAX_DOMAIN_LENGTH = 253
_INVOICED_DOMAIN = "invoiced.com"
_SANDBOX_DOMAIN = "sandbox.invoiced.com"

# The longest link build_url can make.
_MAX_LINK_LENGTH = (
    len("https://")
    + _MAX_DOMAIN_LENGTH
    + len("/login/")
    + MAX_TOKEN_LENGTH
    + len("?redirect_to=balance_forward_statement&locale=fil_PH")
)

# HMAC (RFC 2104): translation tables that XOR every byte of the padded key
# with ipad (0x36) or opad (0x5C).
_SHA256_BLOCK_SIZE = 64
_IPAD = bytes(byte ^ 0x36 for byte in range(256))
_OPAD = bytes(byte ^ 0x5C for byte in range(256))
_MAX_CACHED_KEYS = 64  # per kind of key, str or bytes

_KEY_ENV_VAR = "INVOICED_MAGIC_LINK_KEY"


class MagicLinkError(ValueError):
    """Base class of every error this module raises; catch this one."""


class InvalidTokenError(MagicLinkError):
    """The token was rejected; the subclass says why."""


class MalformedTokenError(InvalidTokenError):
    """The token is not a well-formed compact JWS with JSON object parts."""


class InvalidAlgorithmError(InvalidTokenError):
    """The header's ``alg`` is missing or is not exactly ``HS256``."""


class InvalidSignatureError(InvalidTokenError):
    """The signature does not match any of the keys."""


class ExpiredTokenError(InvalidTokenError):
    """The ``exp`` claim is in the past (allowing for the leeway)."""


class ImmatureTokenError(InvalidTokenError):
    """The ``nbf`` or ``iat`` claim is in the future (allowing for the leeway)."""


class InvalidClaimsError(InvalidTokenError):
    """A claim is missing, of the wrong type, out of range or not accepted."""


class InvalidLinkError(InvalidTokenError):
    """The URL is not a portal link that :func:`build_url` could have made,
    or it is for another portal than the one expected."""


_PORTAL_LINK_FIELDS = ("token", "company", "domain", "sandbox", "redirect_to", "locale")

if TYPE_CHECKING:

    class _PortalLinkTuple(NamedTuple):
        token: str
        company: str | None
        domain: str | None
        sandbox: bool
        redirect_to: str | None
        locale: str | None

else:  # the same named tuple, without importing typing at run time
    _PortalLinkTuple = collections.namedtuple("PortalLink", _PORTAL_LINK_FIELDS)


class PortalLink(_PortalLinkTuple):
    """A portal link taken apart: the arguments :func:`build_url` took.

    ``token``; ``company`` (lower case) with ``sandbox``, or ``domain`` (lower
    case); ``redirect_to`` and ``locale``, or None.  Its repr shows only the
    start of the token, which is a credential.

    >>> parse_url("https://acme.invoiced.com/login/aa.bb.cc?locale=fr")
    PortalLink(token='aa.bb.cc', company='acme', domain=None, sandbox=False, \
redirect_to=None, locale='fr')
    """

    __slots__ = ()

    def __repr__(self) -> str:
        shown = self.token if len(self.token) <= 12 else self.token[:12] + "..."
        fields = [f"token={shown!r}"]
        fields += [
            f"{name}={getattr(self, name)!r}" for name in _PORTAL_LINK_FIELDS[1:]
        ]
        return "PortalLink(" + ", ".join(fields) + ")"


def generate_token(
    key: str | bytes,
    customer_id: int | str,
    ttl: float = 3600,
    *,
    issuer: str = DEFAULT_ISSUER,
    now: float | None = None,
) -> str:
    """Return a sign-in token for *customer_id*, valid for *ttl* seconds.

    *key* is the Magic Link key (str, used as UTF-8, or bytes).  *customer_id*
    is the customer's numeric Invoiced id, a positive int or a str of digits
    (not its customer number: the portal looks customers up by id).  *ttl* is
    at least 1 second; *now* is the UNIX time to count from, by default the
    current time.  The claims are ``sub`` (the id as a string), ``iss`` and
    ``exp = int(now + ttl)``; there is deliberately no ``iat``, which the
    portal rejects when the generator's clock runs ahead of its own.

    >>> generate_token("secret", "1234567890", issuer="Ruby Backend",
    ...                ttl=3600, now=1455561348)  # doctest: +ELLIPSIS
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwi...'
    """
    subject = _customer_id_text(customer_id)
    _check_issuer(issuer)
    pads = _pads_for(key)
    expires = _expiry(ttl, now)
    payload = (
        '{"sub":'
        + _json_string(subject)
        + ',"iss":'
        + _json_string(issuer)
        + ',"exp":'
        + str(expires)
        + "}"
    )
    signing_input = _HEADER_SEGMENT + b"." + _b64encode(_utf8(payload))
    signature = _b64encode(_hmac_sha256(pads, signing_input))
    if len(signing_input) + 1 + len(signature) > MAX_TOKEN_LENGTH:
        raise MagicLinkError("issuer makes the token too long")
    return (signing_input + b"." + signature).decode("ascii")


def build_url(
    token: str,
    company: str | None = None,
    *,
    sandbox: bool = False,
    domain: str | None = None,
    redirect_to: str | None = None,
    locale: str | None = None,
) -> str:
    """Return the portal URL that signs the customer in with *token*.

    Give exactly one of *company* (the Invoiced username, the first label of
    ``{company}.invoiced.com``; *sandbox* selects ``.sandbox.invoiced.com``)
    or *domain* (the host name of a custom portal domain, not under
    invoiced.com).  *redirect_to* names the portal page to land on, one of
    :data:`REDIRECT_PAGES`; *locale* the portal's language, ``fr`` or
    ``fr_CA``.  Hosts that a browser would read otherwise (an IP address,
    an invalid ``xn--`` label) are refused.  :func:`parse_url` is the inverse.

    >>> build_url("aa.bb.cc", "acme", redirect_to="invoices", locale="fr_CA")
    'https://acme.invoiced.com/login/aa.bb.cc?redirect_to=invoices&locale=fr_CA'
    >>> build_url("aa.bb.cc", domain="billing.example.com")
    'https://billing.example.com/login/aa.bb.cc'
    """
    prefix, suffix = _url_parts(company, sandbox, domain, redirect_to, locale)
    _split_token(token)
    return prefix + token + suffix


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
    issuer: str = DEFAULT_ISSUER,
    now: float | None = None,
) -> str:
    """Return a sign-in URL for *customer_id*: :func:`generate_token` plus
    :func:`build_url`, with the URL arguments checked before anything is signed.

    >>> magic_link("secret", 1234, "acme", now=1700000000)  # doctest: +ELLIPSIS
    'https://acme.invoiced.com/login/eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.ey...'
    """
    prefix, suffix = _url_parts(company, sandbox, domain, redirect_to, locale)
    token = generate_token(key, customer_id, ttl, issuer=issuer, now=now)
    return prefix + token + suffix


def verify_token(
    token: str,
    key: str | bytes | Iterable[str | bytes],
    *,
    leeway: float = 0,
    now: float | None = None,
    issuer: str | Iterable[str] | None = None,
) -> dict[str, Any]:
    """Return the claims of *token* if it is a valid Magic Link token.

    *key* is the Magic Link key, or an iterable of keys during a key rotation
    (the token is accepted if any of them signed it).  *leeway* is the clock
    skew, in seconds, allowed on ``exp``, ``nbf`` and ``iat``; *now* is the UNIX
    time to check against, by default the current time.  With *issuer* (a
    string, or an iterable of strings) the ``iss`` claim must equal one of them.

    A token is only called valid if the portal would sign the customer in with
    it (at leeway 0): ``sub`` is a numeric customer id, and neither ``nbf`` nor
    ``iat`` is in the future.  It must also have an ``exp``, and no ``aud``.

    Raises a subclass of :class:`InvalidTokenError` for a rejected token, and
    :class:`MagicLinkError` for bad arguments.  The signature is checked before
    any claim is read.

    >>> token = generate_token("secret", 42, ttl=60, now=1700000000)
    >>> verify_token(token, "secret", now=1700000030)
    {'sub': '42', 'iss': 'magiclink-python', 'exp': 1700000060}
    >>> verify_token(token, "secret", now=1700000060)
    Traceback (most recent call last):
      ...
    magiclink.ExpiredTokenError: token has expired
    """
    return _verified_claims(token, *_verification_options(key, leeway, now, issuer))


def parse_url(url: str) -> PortalLink:
    """Take a portal link apart: the strict inverse of :func:`build_url`.

    Only what :func:`build_url` could have made is accepted (scheme and host
    in any letter case; ``redirect_to=my_account`` is read as ``account``);
    anything else raises :class:`InvalidLinkError`.  The token is checked for
    its form only: :func:`verify_url` also verifies it.

    >>> link = parse_url("https://acme.sandbox.invoiced.com/login/aa.bb.cc")
    >>> link.company, link.sandbox, link.token
    ('acme', True, 'aa.bb.cc')
    """
    if not isinstance(url, str):
        raise InvalidLinkError("link must be a str")
    if len(url) > _MAX_LINK_LENGTH:
        raise InvalidLinkError("link is too long")
    if not (url.isascii() and url.isprintable()) or " " in url:
        raise InvalidLinkError("link has a space, a control or a non-ASCII character")
    if url[:8].lower() != "https://":
        raise InvalidLinkError("link must start with https://")
    host, _, rest = url[8:].partition("/")
    company, sandbox, domain = _parse_host(host)
    path, question, query = rest.partition("?")
    if not path.startswith("login/"):
        raise InvalidLinkError("link path must be /login/TOKEN")
    token = path[6:]
    if "#" in token or "#" in query:
        raise InvalidLinkError("link must not have a fragment")
    try:
        _split_token(token)
    except MalformedTokenError:
        raise InvalidLinkError("link path must be /login/TOKEN") from None
    redirect_to, locale = _parse_query(query) if question else (None, None)
    return PortalLink(token, company, domain, sandbox, redirect_to, locale)


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
) -> dict[str, Any]:
    """Return the claims of the token in portal link *url*, if the link is one
    :func:`build_url` could have made and its token is valid.

    With *company* or *domain* the link must be for that portal (letter case
    ignored), and with *sandbox* (True or False) for that kind of account;
    None means not checked.  Another portal raises :class:`InvalidLinkError`
    before the token is looked at.  The other arguments are those of
    :func:`verify_token`.

    >>> url = magic_link("secret", 42, "acme", now=1700000000)
    >>> verify_url(url, "secret", company="acme", now=1700000000)["sub"]
    '42'
    """
    expected = _expected_portal(company, domain, sandbox)
    options = _verification_options(key, leeway, now, issuer)
    link = parse_url(url)
    if not _is_expected_portal(link, *expected):
        raise InvalidLinkError("link is for another portal")
    return _verified_claims(link.token, *options)


# -- verification ---------------------------------------------------------------


def _verification_options(
    key: _Key | Iterable[_Key],
    leeway: object,
    now: object,
    issuer: str | Iterable[str] | None,
) -> tuple[list[_Pads], float, float, frozenset[str] | None]:
    key_pads = _verification_pads(key)
    # The default 0 needs no check.
    seconds = (
        _non_negative("leeway", leeway) if leeway or type(leeway) is not int else 0
    )
    clock = time.time() if now is None else _finite("now", now)
    issuers = None if issuer is None else _accepted_issuers(issuer)
    return key_pads, seconds, clock, issuers


def _verified_claims(
    token: object,
    key_pads: list[_Pads],
    leeway: float,
    clock: float,
    issuers: frozenset[str] | None,
) -> dict[str, Any]:
    signing_input, header, payload, signature = _split_token(token)
    if header not in _KNOWN_HEADER_SEGMENTS:
        _check_header(_decode_json_object(header, "header"))
    _check_signature(key_pads, signing_input, signature)
    claims = _decode_claims(payload)
    _check_claims(claims, issuers)
    if clock >= claims["exp"] + leeway:
        raise ExpiredTokenError("token has expired")
    for name in ("nbf", "iat"):
        if name in claims and claims[name] > clock + leeway:
            raise ImmatureTokenError(f"token is not valid yet ({name})")
    return claims


# -- signing ----------------------------------------------------------------

# Per-key HMAC states: (inner, outer) SHA-256 objects that have already
# absorbed the padded key, so each signature costs two .copy() calls instead
# of hashing the 64-byte key blocks again (RFC 2104).  Each dict keeps its
# most recently used keys last and drops the least recently used one past
# _MAX_CACHED_KEYS.  str and bytes keys live apart: "k" and b"k" hash alike,
# and comparing them would raise BytesWarning under python -bb.
_STR_KEY_PADS: dict[Any, _Pads] = {}  # str keys only
_BYTES_KEY_PADS: dict[Any, _Pads] = {}  # bytes keys only


def _pads_for(key: object) -> _Pads:
    if isinstance(key, str):
        cache = _STR_KEY_PADS
    elif isinstance(key, bytes):
        cache = _BYTES_KEY_PADS
    else:
        raise MagicLinkError("key must be str or bytes")
    pads = cache.pop(key, None)  # put back below, as the most recently used
    if pads is None:
        pads = _derive_pads(key)
        if len(cache) >= _MAX_CACHED_KEYS:
            cache.pop(next(iter(cache), None), None)  # threads may race here
    cache[key] = pads
    return pads


def _derive_pads(key: str | bytes) -> _Pads:
    if not key:
        raise MagicLinkError("key is empty")
    try:
        secret = _utf8(key)
    except UnicodeEncodeError:
        raise MagicLinkError("key is not valid UTF-8 text") from None
    if len(secret) > _SHA256_BLOCK_SIZE:
        secret = hashlib.sha256(secret).digest()
    block = secret.ljust(_SHA256_BLOCK_SIZE, b"\0")
    return (
        hashlib.sha256(block.translate(_IPAD)),
        hashlib.sha256(block.translate(_OPAD)),
    )


def _hmac_sha256(pads: _Pads, message: bytes) -> bytes:
    inner = pads[0].copy()
    inner.update(message)
    outer = pads[1].copy()
    outer.update(inner.digest())
    digest: bytes = outer.digest()
    return digest


def _verification_pads(key: _Key | Iterable[_Key]) -> list[_Pads]:
    if isinstance(key, (str, bytes)):
        return [_pads_for(key)]
    try:
        keys = list(key)
    except TypeError:
        raise MagicLinkError("key must be str, bytes or an iterable of them") from None
    if not keys:
        raise MagicLinkError("key iterable is empty")
    return [_pads_for(each) for each in keys]


def _check_signature(
    key_pads: list[_Pads], signing_input: bytes, signature: bytes
) -> None:
    # The canonical encoding of a MAC is unique, so comparing encoded forms
    # accepts no other spelling; only a mismatch needs telling apart.
    for pads in key_pads:
        expected = _b64encode(_hmac_sha256(pads, signing_input))
        if hmac.compare_digest(expected, signature):
            return
    _check_canonical(signature, "signature")
    raise InvalidSignatureError("signature does not match the key")


# -- token structure ----------------------------------------------------------


def _split_token(token: object) -> tuple[bytes, bytes, bytes, bytes]:
    """Check the token's form; return the signing input and the three segments."""
    if not isinstance(token, str):
        raise MalformedTokenError("token must be a str")
    if len(token) > MAX_TOKEN_LENGTH:
        raise MalformedTokenError("token is too long")
    if not token.isascii():
        raise MalformedTokenError("token has a character outside base64url")
    text = token.encode("ascii")
    if text.translate(None, _TOKEN_ALPHABET):
        raise MalformedTokenError("token has a character outside base64url")
    signing_input, _, signature = text.rpartition(b".")
    header, _, payload = signing_input.partition(b".")
    if not (header and payload and signature) or b"." in payload:
        raise MalformedTokenError("token must be three non-empty segments")
    return signing_input, header, payload, signature


def _check_canonical(segment: bytes, part: str) -> None:
    ending = _LAST_CHARS.get(len(segment) % 4)
    if ending is None or segment[-1] not in ending:
        raise MalformedTokenError(f"{part} is not canonical base64url")


def _check_header(header: dict[str, Any]) -> None:
    if "alg" not in header:
        raise InvalidAlgorithmError("header has no alg")
    if header["alg"] != "HS256":
        raise InvalidAlgorithmError("alg must be HS256")
    for name in ("crit", "b64", "enc"):
        if name in header:
            raise MalformedTokenError(f"header parameter {name} is not supported")
    if "typ" in header:
        kind = header["typ"]
        # lower(), not upper(): "ı".upper() is "I", while no non-ASCII
        # character lower-cases to a letter of these names.
        if type(kind) is not str or kind.lower() not in _ACCEPTED_TYPES:
            raise MalformedTokenError("typ must be JWT")
    if "kid" in header and type(header["kid"]) is not str:
        raise MalformedTokenError("kid must be a string")


# -- claims -------------------------------------------------------------------


def _check_claims(claims: dict[str, Any], issuers: frozenset[str] | None) -> None:
    if not _is_timestamp(claims.get("exp")):
        if "exp" not in claims:
            raise InvalidClaimsError("exp claim is missing")
        raise InvalidClaimsError("exp claim must be a UNIX time")
    for name in ("nbf", "iat"):
        if name in claims and not _is_timestamp(claims[name]):
            raise InvalidClaimsError(f"{name} claim must be a UNIX time")
    if "sub" not in claims:
        raise InvalidClaimsError("sub claim is missing")
    if not _is_customer_id(claims["sub"]):
        raise InvalidClaimsError("sub claim must be a numeric Invoiced customer id")
    if "aud" in claims:  # RFC 7519 section 4.1.3: there is no audience to match
        raise InvalidClaimsError("aud claim is not accepted")
    if "jti" in claims and type(claims["jti"]) is not str:
        raise InvalidClaimsError("jti claim must be a string")
    if issuers is not None:
        issued_by = claims.get("iss")
        if type(issued_by) is not str or issued_by not in issuers:
            raise InvalidClaimsError("iss claim is not an accepted issuer")


def _is_customer_id(value: object) -> bool:
    # Decoded JSON gives exactly int (never bool) or str.
    if type(value) is int:
        return 0 < value <= _MAX_CUSTOMER_ID
    return type(value) is str and _is_customer_id_text(value)


def _is_customer_id_text(text: str) -> bool:
    # fullmatch gives up at the 20th character, however long the text.
    return (
        _CUSTOMER_ID_TEXT.fullmatch(text) is not None and int(text) <= _MAX_CUSTOMER_ID
    )


def _is_timestamp(value: object) -> bool:
    # Decoded JSON numbers are exactly int or float (not bool).  NaN fails
    # both comparisons; JSON's 1e400 arrives as infinity.
    return (type(value) is int or type(value) is float) and 0 <= value <= _MAX_TIMESTAMP


def _accepted_issuers(issuer: str | Iterable[str]) -> frozenset[str]:
    if isinstance(issuer, str):
        issuer = (issuer,)
    try:
        accepted = frozenset(issuer)
    except TypeError:
        raise MagicLinkError("issuer must be a str or an iterable of str") from None
    if not accepted:
        raise MagicLinkError("issuer iterable is empty")
    for name in accepted:
        _check_text("issuer", name)
    return accepted


# -- argument checks ------------------------------------------------------------


def _customer_id_text(customer_id: object) -> str:
    """The ``sub`` claim for *customer_id*, in plain decimal digits."""
    if isinstance(customer_id, int) and type(customer_id) is not bool:
        # int.__index__ gives the plain int of a subclass such as an IntEnum
        # member, whose str() may be "Plan.GOLD".
        number = int.__index__(customer_id)
        if 0 < number <= _MAX_CUSTOMER_ID:
            return str(number)
    elif isinstance(customer_id, str) and _is_customer_id_text(customer_id):
        return str.__str__(customer_id)  # a plain str, even from a subclass
    raise MagicLinkError(
        "customer_id must be the customer's numeric Invoiced id "
        "(a positive integer), not its customer number"
    )


def _check_issuer(issuer: object) -> None:
    # The length first, so that a huge value is refused before it is scanned.
    if isinstance(issuer, str) and len(issuer) > MAX_TOKEN_LENGTH:
        raise MagicLinkError("issuer makes the token too long")
    _check_text("issuer", issuer)


def _check_text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise MagicLinkError(f"{name} must be a non-empty str")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise MagicLinkError(f"{name} is not valid UTF-8 text") from None


def _finite(name: str, value: object) -> float:
    if type(value) is bool or not isinstance(value, (int, float)):
        raise MagicLinkError(f"{name} must be a number")
    if not -1e300 < value < 1e300:  # rules out NaN and infinities
        raise MagicLinkError(f"{name} must be finite")
    return value


def _non_negative(name: str, value: object) -> float:
    seconds = _finite(name, value)
    if seconds < 0:
        raise MagicLinkError(f"{name} must not be negative")
    return seconds


def _expiry(ttl: object, now: object) -> int:
    seconds = _finite("ttl", ttl)
    if seconds < 1:  # then int(now + ttl) > now: the token is never born dead
        raise MagicLinkError("ttl must be at least 1 second")
    start = time.time() if now is None else _finite("now", now)
    expires = int(start + seconds)
    if not 0 <= expires <= _MAX_TIMESTAMP:
        raise MagicLinkError("now + ttl is not a UNIX time before year 10000")
    return expires


# -- URLs -----------------------------------------------------------------------


def _url_parts(
    company: object,
    sandbox: object,
    domain: object,
    redirect_to: object,
    locale: object,
) -> tuple[str, str]:
    """The link before and after the token: https://HOST/login/ and ?QUERY."""
    if type(sandbox) is not bool:
        raise MagicLinkError("sandbox must be True or False")
    if (company is None) == (domain is None):
        raise MagicLinkError("give exactly one of company or domain")
    if company is not None:
        host = _host_label("company", company) + "." + _portal_domain(sandbox)
    elif sandbox:
        raise MagicLinkError("sandbox goes with company, not domain")
    else:
        host = _domain_name(domain)
    query = []
    if redirect_to is not None:
        query.append("redirect_to=" + _redirect_page(redirect_to))
    if locale is not None:
        query.append("locale=" + _locale(locale))
    return "https://" + host + "/login/", "?" + "&".join(query) if query else ""


def _portal_domain(sandbox: bool) -> str:
    return _SANDBOX_DOMAIN if sandbox else _INVOICED_DOMAIN


def _redirect_page(value: object) -> str:
    if type(value) is str:
        if value in REDIRECT_PAGES:
            return value
        if value in _REDIRECT_ALIASES:
            return _REDIRECT_ALIASES[value]
    raise MagicLinkError("redirect_to must be one of: " + ", ".join(REDIRECT_PAGES))


def _locale(value: object) -> str:
    if type(value) is not str or not re.fullmatch(_LOCALE, value):
        raise MagicLinkError("locale must be a language code such as fr or fr_CA")
    return value


def _domain_name(value: object) -> str:
    if (
        not isinstance(value, str)
        or not value.isascii()
        or len(value) > _MAX_DOMAIN_LENGTH
    ):
        raise MagicLinkError("domain must be an ASCII host name")
    labels = [_host_label("domain label", label) for label in value.split(".")]
    if len(labels) < 2:
        raise MagicLinkError("domain must be a host name such as portal.example.com")
    if _is_number_label(labels[-1]):
        raise MagicLinkError("domain must be a host name, not an IP address")
    name = ".".join(labels)
    if name == _INVOICED_DOMAIN or name.endswith("." + _INVOICED_DOMAIN):
        raise MagicLinkError("domain must not be under invoiced.com: give company")
    return name


def _host_label(name: str, value: object) -> str:
    # isascii() first: some non-ASCII letters lower-case to ASCII ones.
    if not isinstance(value, str) or not value.isascii():
        raise MagicLinkError(f"{name} must be an ASCII host name label")
    label = value.lower()
    if (
        not label
        or len(label) > _MAX_LABEL_LENGTH
        or label.encode("ascii").translate(None, _HOST_CHARS)
        or label[0] == "-"
        or label[-1] == "-"
    ):
        raise MagicLinkError(f"{name} must be 1-63 letters, digits or inner hyphens")
    if label.startswith("xn--") and not _is_valid_a_label(label):
        raise MagicLinkError(f"{name} is an xn-- label that browsers refuse")
    return label


def _is_number_label(label: str) -> bool:
    """Whether a browser reads the last label of a host as a number, and the
    host as an IPv4 address (WHATWG URL Standard, "ends in a number")."""
    if label.isdigit():
        return True
    return label[:2] == "0x" and not label[2:].encode("ascii").translate(
        None, _HEX_DIGITS
    )


def _is_valid_a_label(label: str) -> bool:
    """Whether an xn-- label is one a browser reads as written.

    Browsers refuse a label that is not Punycode, or that decodes to a label
    UTS 46 forbids or would map to another.  This check is stricter, never
    looser: the decoded label must be non-ASCII letters, marks, digits and
    hyphens of Unicode 3.2, written left to right, not starting with a mark,
    unchanged by NFKC and case folding, and encoded back to exactly *label*
    by the standard library's IDNA 2003 codec.
    """
    import unicodedata  # only for internationalized labels

    try:
        decoded = label[4:].encode("ascii").decode("punycode")
        encoded = decoded.encode("idna")
    except UnicodeError:
        return False
    folded = unicodedata.normalize("NFKC", decoded).casefold()
    return (
        encoded == label.encode("ascii")
        and not decoded.isascii()
        and unicodedata.normalize("NFKC", folded) == decoded
        and unicodedata.category(decoded[0])[0] != "M"
        and all(_is_ltr_label_character(unicodedata, char) for char in decoded)
    )


# Letters and marks that UTS 46 disallows although IDNA 2003 took them: the
# Hangul fillers and the Khmer inherent vowels.
_DISALLOWED_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u17b4\u17b5")


def _is_ltr_label_character(unicodedata: Any, char: str) -> bool:
    # A hyphen, or a letter, mark or digit of Unicode 3.2 that is not written
    # right to left (so that no RFC 5893 Bidi rule applies to the host).
    return char == "-" or (
        unicodedata.ucd_3_2_0.category(char)[0] in ("L", "M", "N")
        and unicodedata.bidirectional(char) in ("L", "EN", "NSM")
        and char not in _DISALLOWED_LETTERS
    )


def _parse_host(host: str) -> tuple[str | None, bool, str | None]:
    """(company, sandbox, domain) of a link's host, as build_url took them."""
    if "@" in host:
        raise InvalidLinkError("link must not have user info")
    if ":" in host:
        raise InvalidLinkError("link must not have a port")
    name = host.lower()
    company, _, parent = name.partition(".")
    try:
        if parent in (_INVOICED_DOMAIN, _SANDBOX_DOMAIN):
            return _host_label("company", company), parent == _SANDBOX_DOMAIN, None
        return None, False, _domain_name(name)
    except MagicLinkError:
        raise InvalidLinkError("link host is not a valid portal host") from None


def _parse_query(query: str) -> tuple[str | None, str | None]:
    """redirect_to and locale from a link's query (the text after "?")."""
    values: dict[str, str] = {}
    for parameter in query.split("&"):
        name, equals, value = parameter.partition("=")
        if name not in ("redirect_to", "locale") or not equals or name in values:
            raise InvalidLinkError(
                "link query may only hold redirect_to and locale, once each"
            )
        values[name] = value
    try:
        redirect_to = values.get("redirect_to")
        locale = values.get("locale")
        return (
            None if redirect_to is None else _redirect_page(redirect_to),
            None if locale is None else _locale(locale),
        )
    except MagicLinkError:
        raise InvalidLinkError("link query has an unknown page or locale") from None


def _expected_portal(
    company: object, domain: object, sandbox: object
) -> tuple[str | None, str | None, bool | None]:
    if company is not None and domain is not None:
        raise MagicLinkError("give at most one of company or domain")
    if sandbox is not None and type(sandbox) is not bool:
        raise MagicLinkError("sandbox must be True, False or None")
    return (
        None if company is None else _host_label("company", company),
        None if domain is None else _domain_name(domain),
        sandbox,
    )


def _is_expected_portal(
    link: PortalLink,
    company: str | None,
    domain: str | None,
    sandbox: bool | None,
) -> bool:
    return (
        (company is None or link.company == company)
        and (domain is None or link.domain == domain)
        and (sandbox is None or link.sandbox == sandbox)
    )


# -- encodings ------------------------------------------------------------------


def _utf8(text: str | bytes) -> bytes:
    """The one place where text becomes bytes: str is encoded as UTF-8."""
    return text.encode("utf-8") if isinstance(text, str) else text


_json_string = json.encoder.encode_basestring_ascii


def _b64encode(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_TO_URLSAFE)


def _b64decode(segment: bytes, part: str) -> bytes:
    _check_canonical(segment, part)
    return binascii.a2b_base64(
        segment.translate(_FROM_URLSAFE) + b"=" * (-len(segment) % 4)
    )


class _NonFiniteNumber(ValueError):
    """NaN or Infinity in JSON text, which RFC 8259 does not allow."""


class _NumberOutOfRange(ValueError):
    """A JSON number too large for a float, such as 1e400."""


def _reject_constant(name: str) -> None:
    raise _NonFiniteNumber


_INFINITIES = (float("inf"), float("-inf"))


def _finite_float(text: str) -> float:
    number = float(text)
    if number in _INFINITIES:
        raise _NumberOutOfRange
    return number


# Objects are decoded as tuples of (name, value) pairs, by a C builtin, so
# that duplicate member names are not silently merged; _members() makes them
# dicts.  No decoded value is ever NaN or infinite.
_JSON_DECODER = json.JSONDecoder(
    object_pairs_hook=tuple,
    parse_constant=_reject_constant,
    parse_float=_finite_float,
)


# The claims as this module (and PyJWT) write them: compact JSON with sub, iss
# and exp in that order, strings without escapes or control characters, exp a
# plain integer.  Text that matches means exactly what json would make of it,
# so the JSON decoder can be skipped; anything else takes the general path.
_COMPACT_CLAIMS = re.compile(
    r'\{"sub":"([^"\\\x00-\x1f]+)","iss":"([^"\\\x00-\x1f]*)","exp":([1-9][0-9]{0,11})\}'
)


def _decode_claims(segment: bytes) -> dict[str, Any]:
    text = _decode_text(segment, "payload")
    match = _COMPACT_CLAIMS.fullmatch(text)
    if match:
        return {"sub": match[1], "iss": match[2], "exp": int(match[3])}
    return _parse_json_object(text, "payload")


def _decode_json_object(segment: bytes, part: str) -> dict[str, Any]:
    return _parse_json_object(_decode_text(segment, part), part)


def _decode_text(segment: bytes, part: str) -> str:
    try:
        return _b64decode(segment, part).decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedTokenError(f"{part} is not UTF-8") from None


def _parse_json_object(text: str, part: str) -> dict[str, Any]:
    try:
        pairs = _JSON_DECODER.decode(text)
    except _NonFiniteNumber:
        raise MalformedTokenError(f"{part} has NaN or Infinity") from None
    except _NumberOutOfRange:
        # In the payload that is a claim out of range; a header is unusable.
        error = InvalidClaimsError if part == "payload" else MalformedTokenError
        raise error(f"{part} has a number too large for a float") from None
    except RecursionError:
        raise MalformedTokenError(f"{part} is nested too deeply") from None
    except ValueError:  # JSONDecodeError, or an integer too long to convert
        raise MalformedTokenError(f"{part} is not strict JSON") from None
    if type(pairs) is not tuple:
        raise MalformedTokenError(f"{part} is not a JSON object")
    # A flat object of plain text, the usual case, needs no walk: a lone
    # surrogate can only come from a \u escape, nesting only from brackets.
    if "\\u" in text or "[" in text or text.count("{") > 1:
        return _members(pairs, part)
    members = dict(pairs)
    if len(members) != len(pairs):
        raise MalformedTokenError(f"{part} has duplicate member names")
    return members


def _members(pairs: tuple[tuple[str, Any], ...], part: str) -> dict[str, Any]:
    """Turn decoded pairs into dicts all the way down, without recursion,
    refusing duplicate names, lone surrogates and deep nesting."""
    top: dict[str, Any] = {}
    pending: list[tuple[Any, Any, int]] = [(pairs, top, 1)]
    while pending:
        source, target, depth = pending.pop()
        if depth > _MAX_JSON_DEPTH:
            raise MalformedTokenError(f"{part} is nested too deeply")
        items = source if type(source) is tuple else enumerate(source)
        for name, value in items:
            if type(value) is tuple:
                target[name] = {}
                pending.append((value, target[name], depth + 1))
            elif type(value) is list:
                target[name] = value
                pending.append((value, value, depth + 1))
            else:
                target[name] = value
                _check_text_value(value, part)
            _check_text_value(name, part)
        if len(target) != len(source):
            raise MalformedTokenError(f"{part} has duplicate member names")
    return top


def _check_text_value(value: object, part: str) -> None:
    if type(value) is str and not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedTokenError(f"{part} has a lone surrogate") from None


# -- unverified decoding, for the command line's inspect ------------------------


def _decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    _, header, payload, _ = _split_token(token)
    return _decode_json_object(header, "header"), _decode_json_object(
        payload, "payload"
    )


# -- command line ---------------------------------------------------------------
#
# Each command has a function that adds its arguments and one that runs it,
# registered in _CLI_COMMANDS at the end.  Exit status: 0 success; 1 an
# invalid token or link, or a bad row for urls; 2 a usage or input error; 141
# when the reader of standard output has gone (as for a process that SIGPIPE
# ends); 130 on Ctrl-C.

_CLI_DESCRIPTION = """\
Make, verify and inspect Invoiced Magic Link sign-in links.

The key is read from the environment variable INVOICED_MAGIC_LINK_KEY or from
--key-file PATH ('-' reads standard input); there is no option that takes the
key itself, so that it stays out of shell history and process listings.
"""

_CLI_EXAMPLES = """\
examples:
  INVOICED_MAGIC_LINK_KEY=... magiclink url 1234 --company acme
  magiclink token 1234 --ttl 300 --key-file key.txt
  magiclink urls customers.csv --company acme --ttl 7776000 > links.csv
  magiclink verify 'https://acme.invoiced.com/login/eyJ...' --company acme
  magiclink inspect eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ...
"""

_MAX_KEY_FILE_SIZE = 4096
_BROKEN_PIPE_STATUS = 141
_INTERRUPTED_STATUS = 130
_QUOTED_TEXT = r"'[^']*'|\"[^\"]*\""
_OPTION_NAME = r"--[A-Za-z][A-Za-z0-9-]{0,39}"


def _main(argv: list[str] | None = None) -> int:
    """Run the command line with *argv* (default ``sys.argv[1:]``) and return
    its exit status."""
    import sys

    parser = _cli_parser()
    try:
        try:
            args, unknown = parser.parse_known_args(argv)
            if unknown:
                getattr(args, "parser", parser).error(_unknown_arguments(unknown))
            status: int = args.run(args)
        except SystemExit as exc:  # argparse has printed help or a usage error
            status = exc.code if isinstance(exc.code, int) else 2
        sys.stdout.flush()
    except BrokenPipeError:  # magiclink ... | head
        _discard_standard_output()
        return _BROKEN_PIPE_STATUS
    except KeyboardInterrupt:
        return _INTERRUPTED_STATUS
    return status


def _cli_parser() -> Any:
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:
            # argparse quotes the value it could not use, and that could be
            # a pasted key: only option and command names are shown.
            super().error(re.sub(_QUOTED_TEXT, _shown_if_a_name, message))

    formatter = argparse.RawDescriptionHelpFormatter
    parser = Parser(
        prog="magiclink",
        description=_CLI_DESCRIPTION,
        epilog=_CLI_EXAMPLES,
        formatter_class=formatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(title="commands", dest="command", required=True)
    for name, (summary, example, add_arguments, run) in _CLI_COMMANDS.items():
        command = commands.add_parser(
            name,
            help=summary,
            description=summary,
            epilog="example:\n  " + example,
            formatter_class=formatter,
            allow_abbrev=False,
        )
        add_arguments(command)
        command.set_defaults(run=run, parser=command)
    return parser


# -- url


def _add_url_arguments(command: Any) -> None:
    _add_customer_id(command)
    _add_portal_options(command)
    _add_token_options(command)
    _add_key_file(command)


def _run_url(args: Any) -> int:
    def make(key: str | bytes, now: float) -> str:
        return magic_link(
            key,
            args.customer_id,
            args.company,
            ttl=args.ttl,
            sandbox=args.sandbox,
            domain=args.domain,
            redirect_to=args.redirect_to,
            locale=args.locale,
            issuer=args.issuer,
            now=now,
        )

    return _print_made(args, make)


# -- token


def _add_token_arguments(command: Any) -> None:
    _add_customer_id(command)
    _add_token_options(command)
    _add_key_file(command)


def _run_token(args: Any) -> int:
    def make(key: str | bytes, now: float) -> str:
        return generate_token(
            key, args.customer_id, args.ttl, issuer=args.issuer, now=now
        )

    return _print_made(args, make)


def _print_made(args: Any, make: Callable[[str | bytes, float], str]) -> int:
    """Print the URL or token that *make* makes; tell a person when it expires."""
    key = _cli_key(args)
    now = time.time()
    try:
        made = make(key, now)
    except MagicLinkError as exc:
        args.parser.error(str(exc))
    print(made)
    _tell_expiry(args.ttl, now)
    return 0


def _tell_expiry(ttl: float, now: float) -> None:
    # For a person at a terminal; a script reads standard output alone.
    import sys

    if sys.stderr.isatty():
        print("expires " + _describe_time(_expiry(ttl, now), now), file=sys.stderr)


# -- urls


def _add_urls_arguments(command: Any) -> None:
    command.add_argument(
        "ids",
        metavar="FILE",
        nargs="?",
        help="customer ids, one a line, or CSV with a header row that has an id "
        "column, as in an Invoiced customer export (default: standard input)",
    )
    _add_portal_options(command)
    _add_token_options(command)
    _add_key_file(command)


def _run_urls(args: Any) -> int:
    import csv
    import sys

    key = _cli_key(args)
    if args.ids in (None, "-") and args.key_file == "-":
        args.parser.error("standard input cannot hold both the key and the ids")
    now = time.time()  # one clock reading: every link expires at the same moment
    try:
        prefix, suffix = _url_parts(
            args.company, args.sandbox, args.domain, args.redirect_to, args.locale
        )
        expires_at = _iso_utc(_expiry(args.ttl, now))
        _check_issuer(args.issuer)
    except MagicLinkError as exc:
        args.parser.error(str(exc))

    def link_for(customer_id: int | str) -> str:
        token = generate_token(key, customer_id, args.ttl, issuer=args.issuer, now=now)
        return prefix + token + suffix

    source = _open_ids(args)
    try:
        first = source.readline()
        header = _csv_header(first)
        column = header.index("id") if header else 0
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([*(header or ["customer_id"]), "url", "expires_at"])
        rows = _csv_rows(source, header) if header else _plain_rows(first, source)
        return _write_links(rows, column, link_for, expires_at, writer)
    finally:
        if source.buffer is getattr(sys.stdin, "buffer", None):
            source.detach()  # standard input stays open
        else:
            source.close()


def _write_links(
    rows: Iterator[tuple[int, list[str], str]],
    column: int,
    link_for: Callable[[int | str], str],
    expires_at: str,
    writer: Any,
) -> int:
    """Write each good row with its link; report each bad one by its line."""
    import sys

    any_bad = False
    for line, fields, problem in rows:
        try:
            if problem:
                raise MagicLinkError(problem)
            url = link_for(_cli_customer_id(fields[column].strip()))
        except MagicLinkError as exc:
            print(f"magiclink urls: line {line}: {exc}", file=sys.stderr)
            any_bad = True
        else:
            writer.writerow([*fields, url, expires_at])
    return 1 if any_bad else 0


def _open_ids(args: Any) -> Any:
    """The ids as text: UTF-8, a byte order mark (as spreadsheets write it)
    dropped, bytes that are not UTF-8 kept for _row_problem to find."""
    import io
    import os
    import stat
    import sys

    if args.ids in (None, "-"):
        binary = getattr(sys.stdin, "buffer", None)
        if binary is None:
            args.parser.error("standard input cannot be read")
    else:
        try:
            if stat.S_ISCHR(os.stat(args.ids).st_mode):  # /dev/zero would never end
                args.parser.error("cannot read FILE: it is a device")
            binary = open(args.ids, "rb")  # noqa: SIM115 (read until the run ends)
        except OSError as exc:
            args.parser.error("cannot read FILE: " + _os_reason(exc))
    return io.TextIOWrapper(
        binary, encoding="utf-8-sig", errors="surrogateescape", newline=""
    )


def _csv_header(first_line: str) -> list[str] | None:
    import csv

    try:
        names = next(csv.reader([first_line], strict=True), [])
    except csv.Error:
        return None
    return names if "id" in names else None


def _plain_rows(first: str, source: Any) -> Iterator[tuple[int, list[str], str]]:
    import itertools

    lines: Iterator[str] = itertools.chain([first], source) if first else iter(())
    for line, text in enumerate(lines, 1):
        fields = [text.strip()]
        yield line, fields, _row_problem(fields, 0)


def _csv_rows(source: Any, header: list[str]) -> Iterator[tuple[int, list[str], str]]:
    import csv

    width, column = len(header), header.index("id")
    reader = csv.reader(source, strict=True)
    while True:
        line = reader.line_num + 2  # where the row starts; the header is line 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield line, [], "not a well-formed CSV row"
            continue
        if not fields:
            yield line, fields, "the line is empty"
        elif len(fields) != width:
            yield line, fields, f"{len(fields)} fields where the header has {width}"
        else:
            yield line, fields, _row_problem(fields, column)


def _row_problem(fields: list[str], column: int) -> str:
    """Why the row cannot be used, or "" if it can."""
    text = "".join(fields)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "not UTF-8 text"
    if not fields[column].strip():
        return "the id is empty"
    return ""


# -- verify


def _add_verify_arguments(command: Any) -> None:
    _add_token_or_url(command)
    command.add_argument(
        "--company", metavar="NAME", help="the link must be for NAME.invoiced.com"
    )
    command.add_argument(
        "--domain", metavar="HOST", help="the link must be for this custom domain"
    )
    command.add_argument(
        "--sandbox", action="store_true", help="the link must be for a sandbox account"
    )
    command.add_argument(
        "--leeway",
        metavar="SECONDS",
        type=float,
        default=0,
        help="allowed clock skew (default 0, as at the portal)",
    )
    command.add_argument(
        "--issuer",
        metavar="NAME",
        action="append",
        help="accept only this iss claim (repeat to accept several)",
    )
    _add_json(command)
    _add_key_file(command)


def _run_verify(args: Any) -> int:
    import sys

    key = _cli_key(args)
    text = args.token.strip()
    checks_host = args.company is not None or args.domain is not None or args.sandbox
    if checks_host and not _is_link(text):
        args.parser.error(
            "--company, --domain and --sandbox check a link: give the URL"
        )
    now = time.time()
    options = {"leeway": args.leeway, "now": now, "issuer": args.issuer}
    try:
        if _is_link(text):
            claims = verify_url(
                text,
                key,
                company=args.company,
                domain=args.domain,
                sandbox=True if args.sandbox else None,
                **options,
            )
            link: PortalLink | None = parse_url(text)
        else:
            claims = verify_token(text, key, **options)
            link = None
    except InvalidTokenError as exc:
        return _report_refusal(args, exc, "valid", text, now)
    except MagicLinkError as exc:
        args.parser.error(str(exc))
    token = text if link is None else link.token
    if args.json:
        header = _decode_unverified(token)[0]
        _print_json_line(_report("valid", True, claims, header, link))
        return 0
    _print_json(claims)
    for line in _link_and_dates(link, claims, now):
        print(line, file=sys.stderr)
    return 0


def _report_refusal(
    args: Any, error: InvalidTokenError, verdict: str, text: str, now: float
) -> int:
    import sys

    if args.json:
        kind = type(error).__name__
        _print_json_line({verdict: False, "error": kind, "reason": str(error)})
        return 1
    reason = str(error)
    if isinstance(error, ExpiredTokenError):  # the signature has passed
        token = parse_url(text).token if _is_link(text) else text
        reason += " (" + _describe_time(_decode_unverified(token)[1]["exp"], now) + ")"
    if isinstance(error, InvalidLinkError):
        what = "invalid link"
    else:
        what = "invalid token" if verdict == "valid" else "malformed token"
    print(f"{what}: {reason}", file=sys.stderr)
    return 1


# -- inspect


def _add_inspect_arguments(command: Any) -> None:
    _add_token_or_url(command)
    _add_json(command)


def _run_inspect(args: Any) -> int:
    text = args.token.strip()
    try:
        link = parse_url(text) if _is_link(text) else None
        header, claims = _decode_unverified(text if link is None else link.token)
    except InvalidTokenError as exc:
        return _report_refusal(args, exc, "verified", text, 0)
    if args.json:
        _print_json_line(_report("verified", False, claims, header, link))
        return 0
    print("signature: NOT verified (inspect does not use the key)")
    print("header:")
    _print_json(header)
    print("claims:")
    _print_json(claims)
    for line in _link_and_dates(link, claims, time.time()):
        print(line)
    if "exp" not in claims:
        print("expires: never: no exp claim (verify refuses such a token)")
    elif not _is_timestamp(claims["exp"]):
        print("expires: exp claim is not a UNIX time (verify refuses such a token)")
    return 0


# -- what the commands share


def _add_customer_id(command: Any) -> None:
    command.add_argument(
        "customer_id",
        metavar="CUSTOMER_ID",
        type=_cli_customer_id,
        help="the customer's numeric Invoiced id (not its customer number)",
    )


def _add_portal_options(command: Any) -> None:
    host = command.add_mutually_exclusive_group(required=True)
    host.add_argument(
        "--company", metavar="NAME", help="Invoiced username: NAME.invoiced.com"
    )
    host.add_argument("--domain", metavar="HOST", help="custom portal domain")
    command.add_argument(
        "--sandbox", action="store_true", help="use NAME.sandbox.invoiced.com"
    )
    command.add_argument(
        "--redirect-to",
        metavar="PAGE",
        help="portal page to open: " + ", ".join(REDIRECT_PAGES),
    )
    command.add_argument(
        "--locale", metavar="LANGUAGE", help="portal language, such as fr or fr_CA"
    )


def _add_token_options(command: Any) -> None:
    command.add_argument(
        "--ttl",
        metavar="SECONDS",
        type=float,
        default=3600,
        help="lifetime, at least 1 (default 3600)",
    )
    command.add_argument(
        "--issuer",
        metavar="NAME",
        default=DEFAULT_ISSUER,
        help="iss claim (default %(default)s)",
    )


def _add_key_file(command: Any) -> None:
    command.add_argument(
        "--key-file",
        metavar="PATH",
        help="read the key from PATH ('-' for standard input): a regular file of "
        "at most 4 KiB, one trailing newline allowed",
    )


def _add_token_or_url(command: Any) -> None:
    command.add_argument(
        "token", metavar="TOKEN_OR_URL", help="a token or a whole portal URL"
    )


def _add_json(command: Any) -> None:
    command.add_argument(
        "--json", action="store_true", help="print one JSON object, for scripts"
    )


def _cli_customer_id(text: str) -> int | str:
    # Digits become the int id; other text is passed on for the library to
    # refuse with its reason.
    return int(text) if _is_customer_id_text(text) else text


def _cli_key(args: Any) -> str | bytes:
    import os
    import sys

    if args.key_file is None:
        key: str | bytes = os.environ.get(_KEY_ENV_VAR, "")
    else:
        key = _key_file_contents(args)
    if not key:
        args.parser.error(
            f"no key: set {_KEY_ENV_VAR} or give --key-file PATH ('-' reads standard input)"
        )
    if not (len(key) == 63 and key.isascii() and key.isalnum()):
        print(
            "magiclink: warning: the key is not 63 letters and digits, as the "
            "dashboard's Magic Link keys are; links made with a wrong key fail",
            file=sys.stderr,
        )
    return key


def _key_file_contents(args: Any) -> bytes:
    """The key in --key-file, refused with a reason, never shown."""
    data = _key_from_stdin(args) if args.key_file == "-" else _key_from_file(args)
    if len(data) > _MAX_KEY_FILE_SIZE:
        args.parser.error("the key file is larger than 4 KiB")
    if data.endswith(b"\r\n"):
        data = data[:-2]
    elif data.endswith(b"\n"):
        data = data[:-1]
    if data.startswith(b"\xef\xbb\xbf"):
        args.parser.error("the key file starts with a byte order mark")
    if data != data.strip():
        args.parser.error("the key file has white space before or after the key")
    if data.translate(None, bytes(range(32)) + b"\x7f") != data:
        args.parser.error("the key file has a control character")
    return data


def _key_from_file(args: Any) -> bytes:
    import os
    import stat

    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer.
        descriptor = os.open(args.key_file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            os.close(descriptor)
            what = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
            args.parser.error("cannot read the key file: it is " + what)
        with open(descriptor, "rb") as file:
            data: bytes = file.read(_MAX_KEY_FILE_SIZE + 1)
    except OSError as exc:
        args.parser.error("cannot read the key file: " + _os_reason(exc))
    return data


def _key_from_stdin(args: Any) -> bytes:
    import sys

    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        try:  # no echo, as for a password
            typed = getpass.getpass("Magic Link key: ")
        except EOFError:
            typed = ""
        return typed.encode("utf-8", "surrogateescape")
    binary: Any = getattr(sys.stdin, "buffer", None)
    if binary is None:
        args.parser.error("cannot read the key from standard input")
    data: bytes = binary.read(_MAX_KEY_FILE_SIZE + 1)
    return data


def _os_reason(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, IsADirectoryError):
        return "it is a directory"
    if isinstance(error, PermissionError):
        return "permission denied"
    return error.strerror or "it cannot be read"


def _unknown_arguments(unknown: list[str]) -> str:
    # Only words that look like options are named: any other stray word could
    # be a pasted key.
    names = [
        word.partition("=")[0]
        for word in unknown
        if re.fullmatch(_OPTION_NAME, word.partition("=")[0])
    ]
    hidden = len(unknown) - len(names)
    said = ["unrecognized arguments"]
    if names:
        said.append(": " + " ".join(names))
    if hidden:
        said.append(f"{',' if names else ':'} {hidden} more not shown")
    return (
        "".join(said)
        + f"; the key goes in {_KEY_ENV_VAR} or --key-file, never on the command line"
    )


def _shown_if_a_name(match: re.Match[str]) -> str:
    quoted = match[0]
    if quoted[1:-1] in _CLI_COMMANDS or re.fullmatch(_OPTION_NAME, quoted[1:-1]):
        return quoted
    return "(value not shown)"


def _discard_standard_output() -> None:
    # The reader has gone: whatever is still buffered goes to /dev/null, so
    # that the interpreter's own flush at exit has nothing to fail on.
    import os
    import sys

    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _is_link(text: str) -> bool:
    return "/" in text or ":" in text


def _link_host(link: PortalLink) -> str:
    if link.domain is not None:
        return link.domain
    return f"{link.company}.{_portal_domain(link.sandbox)}"


def _link_and_dates(
    link: PortalLink | None, claims: dict[str, Any], now: float
) -> Iterator[str]:
    """Lines for people: the link's portal, page and language, and the dates."""
    if link is not None:
        page = link.redirect_to or "(portal default)"
        locale = link.locale or "(portal default)"
        yield f"link: {_link_host(link)}, page {page}, locale {locale}"
    for name, label in (("exp", "expires"), ("iat", "issued"), ("nbf", "not before")):
        if _is_timestamp(claims.get(name)):
            yield f"{label}: {_describe_time(claims[name], now)}"


def _report(
    verdict: str,
    verified: bool,
    claims: dict[str, Any],
    header: dict[str, Any],
    link: PortalLink | None,
) -> dict[str, Any]:
    """The --json object of verify (verdict "valid") and inspect ("verified")."""
    exp: Any = claims.get("exp")
    report: dict[str, Any] = {
        verdict: verified,
        "claims": claims,
        "header": header,
        "expires_at": _iso_utc(exp) if _is_timestamp(exp) else None,
    }
    if link is not None:
        report["link"] = {
            "host": _link_host(link),
            "redirect_to": link.redirect_to,
            "locale": link.locale,
        }
    return report


def _describe_time(timestamp: float, now: float) -> str:
    import datetime

    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    seconds = abs(timestamp - now)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= 2 * size:
            break
    else:
        unit, size = "second", 1
    count = int(seconds // size)
    span = f"{count} {unit}{'' if count == 1 else 's'}"
    relative = f"in {span}" if timestamp > now else f"{span} ago"
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC, {relative}"


def _iso_utc(timestamp: float) -> str:
    import datetime

    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.isoformat().replace("+00:00", "Z")


def _print_json(value: dict[str, Any]) -> None:
    # ASCII only, so that no control character in a token reaches a terminal.
    print(json.dumps(value, indent=2, ensure_ascii=True, allow_nan=False))


def _print_json_line(value: dict[str, Any]) -> None:
    print(json.dumps(value, ensure_ascii=True, allow_nan=False))


_CLI_COMMANDS = {
    "url": (
        "print a sign-in URL for a customer",
        "magiclink url 1234 --company acme --redirect-to invoices --locale fr",
        _add_url_arguments,
        _run_url,
    ),
    "token": (
        "print a sign-in token for a customer",
        "magiclink token 1234 --ttl 300",
        _add_token_arguments,
        _run_token,
    ),
    "urls": (
        "print CSV with a sign-in URL for every customer id read",
        "magiclink urls customers.csv --company acme --ttl 7776000 > links.csv",
        _add_urls_arguments,
        _run_urls,
    ),
    "verify": (
        "check a token or portal URL with the key and print its claims",
        "magiclink verify 'https://acme.invoiced.com/login/eyJ...' --company acme",
        _add_verify_arguments,
        _run_verify,
    ),
    "inspect": (
        "decode a token or portal URL without the key (signature NOT verified)",
        "magiclink inspect eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ...",
        _add_inspect_arguments,
        _run_inspect,
    ),
}


if __name__ == "__main__":
    raise SystemExit(_main())
