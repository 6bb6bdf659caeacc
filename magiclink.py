# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The magiclink authors
# magiclink 1.2.0, a single-file module from the magiclink git repository.
"""Invoiced Magic Link sign-in tokens and URLs, made and verified.

Invoiced signs a customer into its customer portal when the browser opens
``https://{company}.invoiced.com/login/{token}``.  The token is a JSON Web
Token (RFC 7519) in the JWS compact serialization (RFC 7515), signed with
HS256, that is HMAC-SHA256 (RFC 7518 section 3.2, RFC 2104), under the
account's secret Magic Link key, its segments in base64url (RFC 4648 section
5) and its parts JSON (RFC 8259).  Its header is ``{"alg":"HS256","typ":"JWT"}``
and its claims are ``sub`` (the customer's numeric Invoiced id), ``iss`` (a
name for the service that made the token) and ``exp`` (expiry in UNIX seconds).

This module makes such tokens and URLs, and verifies tokens more strictly than
general-purpose JWT libraries: one algorithm, canonical base64url, strict JSON,
the signature checked before any claim is read, and every failure raised as a
subclass of :class:`MagicLinkError`.  It holds to the portal's own rules: a
link it makes always signs the customer in, and a token it calls valid the
portal accepts.  :func:`parse_url` and :func:`verify_url` read links back.
It needs nothing but the standard library and is complete alone: copy this
file into a project to vendor it.  Its command line is ``magiclink_cli.py``.

The private code below reads in the order a reviewer follows a token:
verification (form, header, signature, claims), signing and the key cache,
links and hosts, then the encoders and decoders they share.

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

__version__ = "1.2.0"

# Names for type checkers only: importing typing would cost every cold start.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, NamedTuple

    _Key = str | bytes
    _Pads = tuple[Any, Any]  # inner and outer SHA-256 states of one key

# Constants.  The public ones, and the private ones that more than one part
# of the module uses, are here; a private constant with a single user stands
# just above that function.

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

#: Longer tokens are rejected before any decoding.
MAX_TOKEN_LENGTH = 8192

# base64url of the header this module writes: {"alg":"HS256","typ":"JWT"}.
_HEADER_SEGMENT = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

_B64URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

# Largest NumericDate accepted: 9999-12-31T23:59:59Z.
_MAX_TIMESTAMP = 253402300799

# The portal looks the customer up by its numeric id, a signed 64-bit integer:
# 1 to 2**63 - 1, written in ASCII digits with no sign or leading zero.
_MAX_CUSTOMER_ID = 2**63 - 1

_INVOICED_DOMAIN = "invoiced.com"
_SANDBOX_DOMAIN = "sandbox.invoiced.com"


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
    # The arguments, in order.  A usual value passes the quick test; any
    # other goes to the helper that checks it in full and names it.
    if type(customer_id) is int and 0 < customer_id <= _MAX_CUSTOMER_ID:
        subject = str(customer_id)
    else:
        subject = _customer_id_text(customer_id)
    if not (
        type(issuer) is str and 0 < len(issuer) <= MAX_TOKEN_LENGTH and issuer.isascii()
    ):
        _check_issuer(issuer)
    pads = _pads_for(key)
    expires = _expiry(ttl, now)

    # The claims as compact ASCII JSON (the subject is digits), then the
    # signing input and its HMAC-SHA256, in base64url (RFC 7515 section 7.1).
    payload = f'{{"sub":"{subject}","iss":{_json_string(issuer)},"exp":{expires}}}'
    signing_input = _HEADER_SEGMENT + b"." + _b64encode(payload.encode("ascii"))
    mac = binascii.b2a_base64(_hmac_sha256(pads, signing_input), newline=False)
    token = signing_input + b"." + mac[:43].translate(_TO_URLSAFE)
    if len(token) > MAX_TOKEN_LENGTH:
        raise MagicLinkError("issuer makes the token too long")
    return token.decode("ascii")


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
    # The arguments, before the token is looked at (verify_url checks the
    # same ones in _verification_options, with the same answers).
    if type(key) is str or type(key) is bytes:
        key_pads = [_pads_for(key)]
    else:  # a subclass, an iterable of keys, or not a key
        key_pads = _verification_pads(key)
    if leeway != 0 or type(leeway) is not int:  # the default 0 needs no check
        leeway = _non_negative("leeway", leeway)
    clock = time.time() if now is None else _finite_number("now", now)
    issuers = None if issuer is None else _accepted_issuers(issuer)
    return _verified_claims(token, key_pads, leeway, clock, issuers)


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
    clutter = _link_clutter(url)
    if clutter:
        raise InvalidLinkError(clutter)
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
    return _verified_link(
        url,
        key,
        company=company,
        domain=domain,
        sandbox=sandbox,
        leeway=leeway,
        now=now,
        issuer=issuer,
    )[1]


# == Verification, in the order a token is checked ===============================
#
# verify_token checks its arguments, then the token by the steps of RFC 7515
# section 5.2 and RFC 7519 section 7.2: its form, its header, its signature,
# and only then its claims.  The common token (the header and the compact
# claims that this module and PyJWT write) takes the straight path through
# _verified_claims; anything else goes to the helpers below it, which give
# the answers the straight path would have given.


def _verification_options(
    key: _Key | Iterable[_Key],
    leeway: object,
    now: object,
    issuer: str | Iterable[str] | None,
) -> tuple[list[_Pads], float, float, frozenset[str] | None]:
    """verify_url's arguments, checked in order as verify_token checks them:
    the key states, the leeway, the clock, the accepted issuers (None: any)."""
    key_pads = _verification_pads(key)
    if leeway != 0 or type(leeway) is not int:  # the default 0 needs no check
        leeway = _non_negative("leeway", leeway)
    clock = time.time() if now is None else _finite_number("now", now)
    issuers = None if issuer is None else _accepted_issuers(issuer)
    return key_pads, leeway, clock, issuers


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
        _check_non_empty_utf8("issuer", name)
    return accepted


# Headers known good as bytes, so not decoded: this module's (also PyJWT's
# and jsonwebtoken's), firebase/php-jwt's member order, and ruby-jwt 2.x's
# without "typ".
_KNOWN_HEADER_SEGMENTS = frozenset(
    (
        _HEADER_SEGMENT,
        b"eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9",
        b"eyJhbGciOiJIUzI1NiJ9",
    )
)

# The claims as this module (and PyJWT) write them: compact JSON with sub,
# iss and exp in that order, iss a string with no escape or control
# character.  sub is the digits of a customer id of at most 18 digits and exp
# a plain integer of at most 11, both always in range (2**63 - 1 has 19
# digits; year 10000 starts at a 12-digit time): longer ones are rare and take
# the general path.  A text that matches means exactly what json makes of it.
_COMPACT_CLAIMS = re.compile(
    r'\{"sub":"([1-9][0-9]{0,17})","iss":"([^"\\\x00-\x1f]*)","exp":([1-9][0-9]{0,10})\}'
)


def _verified_claims(
    token: object,
    key_pads: list[_Pads],
    leeway: float,
    clock: float,
    issuers: frozenset[str] | None,
) -> dict[str, Any]:
    """The claims of *token* if it is valid, for checked arguments."""
    # 1. Its form: three non-empty segments of base64url (RFC 7515 section
    #    7.1), within MAX_TOKEN_LENGTH, so that the work before the signature
    #    is bounded.  (_split_token, for links, checks the same.)
    if not isinstance(token, str):
        raise MalformedTokenError("token must be a str")
    if len(token) > MAX_TOKEN_LENGTH:
        raise MalformedTokenError("token is too long")
    try:
        serialized = token.encode("ascii")
    except UnicodeEncodeError:
        raise MalformedTokenError("token has a character outside base64url") from None
    if serialized.translate(None, _TOKEN_ALPHABET):
        raise MalformedTokenError("token has a character outside base64url")
    signing_input, _, signature = serialized.rpartition(b".")
    header, _, payload = signing_input.partition(b".")
    if not (header and payload and signature) or b"." in payload:
        raise MalformedTokenError("token must be three non-empty segments")

    # 2. The header: a JSON object whose alg is exactly HS256 (RFC 7515
    #    section 5.2 steps 2-5).  Headers known good are not decoded.
    if header != _HEADER_SEGMENT and header not in _KNOWN_HEADER_SEGMENTS:
        _check_header(_decode_json_object(header, "header"))

    # 3. The signature: HMAC-SHA256 under each key in turn (RFC 7518 section
    #    3.2, RFC 2104), its base64url compared in constant time (step 6).
    #    The canonical encoding of a MAC is unique, so comparing encoded forms
    #    accepts no other spelling; only a mismatch needs telling apart.
    for pads in key_pads:
        mac = binascii.b2a_base64(_hmac_sha256(pads, signing_input), newline=False)
        if hmac.compare_digest(mac[:43].translate(_TO_URLSAFE), signature):
            break
    else:
        _check_canonical(signature, "signature")
        raise InvalidSignatureError("signature does not match the key")

    # 4. The claims, read only now (RFC 7519 section 7.2 step 10): canonical
    #    base64url of UTF-8 JSON (as _decode_text reads the header).  Compact
    #    claims are read by the pattern alone, which admits only values in
    #    range; any other text is decoded and checked by the portal's rules,
    #    which give the answer the pattern would have given.
    remainder = len(payload) & 3
    if payload[-1] not in _CANONICAL_LAST_CHARS[remainder]:
        raise MalformedTokenError("payload is not canonical base64url")
    data = binascii.a2b_base64(payload.translate(_FROM_URLSAFE) + _PADDING[remainder])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedTokenError("payload is not UTF-8") from None
    compact = _COMPACT_CLAIMS.fullmatch(text)
    if compact is None:
        claims = _parse_json_object(text, "payload")
        _check_claims(claims)
    else:
        sub, iss, exp = compact.groups()
        claims = {"sub": sub, "iss": iss, "exp": int(exp)}

    # 5. The issuer, when the caller names the ones it accepts.
    if issuers is not None:
        issued_by = claims.get("iss")
        if type(issued_by) is not str or issued_by not in issuers:
            raise InvalidClaimsError("iss claim is not an accepted issuer")

    # 6. The dates, as the portal reads them (RFC 7519 sections 4.1.4-4.1.6):
    #    dead from exp on; not yet valid while nbf or iat is ahead.
    if clock >= claims["exp"] + leeway:
        raise ExpiredTokenError("token has expired")
    if "nbf" in claims and claims["nbf"] > clock + leeway:
        raise ImmatureTokenError("token is not valid yet (nbf)")
    if "iat" in claims and claims["iat"] > clock + leeway:
        raise ImmatureTokenError("token is not valid yet (iat)")
    return claims


# -- 1. the token's form ----------------------------------------------------------

_TOKEN_ALPHABET = _B64URL_ALPHABET + b"."


def _split_token(token: object) -> tuple[bytes, bytes, bytes, bytes]:
    """Check the token's form; return the signing input and the three segments."""
    if not isinstance(token, str):
        raise MalformedTokenError("token must be a str")
    if len(token) > MAX_TOKEN_LENGTH:
        raise MalformedTokenError("token is too long")
    try:
        serialized = token.encode("ascii")
    except UnicodeEncodeError:
        raise MalformedTokenError("token has a character outside base64url") from None
    if serialized.translate(None, _TOKEN_ALPHABET):
        raise MalformedTokenError("token has a character outside base64url")
    signing_input, _, signature = serialized.rpartition(b".")
    header, _, payload = signing_input.partition(b".")
    if not (header and payload and signature) or b"." in payload:
        raise MalformedTokenError("token must be three non-empty segments")
    return signing_input, header, payload, signature


# In a canonical encoding the bits after the last whole byte are zero, so a
# segment of length 4n+2 ends in one of 4 characters, one of 4n+3 in one of
# 16; a length of 4n+1 is never base64.  Indexed by the length's remainder.
_CANONICAL_LAST_CHARS = (_B64URL_ALPHABET, b"", b"AQgw", b"AEIMQUYcgkosw048")


def _check_canonical(segment: bytes, part: str) -> None:
    if segment[-1] not in _CANONICAL_LAST_CHARS[len(segment) & 3]:
        raise MalformedTokenError(f"{part} is not canonical base64url")


# -- 2. the header, when it is not one known good ----------------------------------

# RFC 7515 section 4.1.9: "typ" is compared without regard to ASCII case.
_ACCEPTED_TYPES = ("jwt", "application/jwt")


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


# -- 4. the claims, when they are not compact ones in range -------------------------


def _check_claims(claims: dict[str, Any]) -> None:
    """The portal's rules for decoded claims, but for iss and the dates' order."""
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


def _is_timestamp(value: object) -> bool:
    # Decoded JSON numbers are exactly int or float (not bool).  NaN fails
    # both comparisons; JSON's 1e400 arrives as infinity.
    return (type(value) is int or type(value) is float) and 0 <= value <= _MAX_TIMESTAMP


def _is_customer_id(value: object) -> bool:
    # Decoded JSON gives exactly int (never bool) or str.
    if type(value) is int:
        return 0 < value <= _MAX_CUSTOMER_ID
    return type(value) is str and _is_customer_id_text(value)


def _is_customer_id_text(text: str) -> bool:
    # The length first: a huge text is refused before it is scanned.  str's
    # own methods, not a subclass's.
    return (
        0 < len(text) <= 19
        and str.isascii(text)
        and str.isdigit(text)
        and text[0] != "0"
        and int(text) <= _MAX_CUSTOMER_ID
    )


# == Signing and the key cache ======================================================

# Per-key HMAC states: (inner, outer) SHA-256 objects that have already
# absorbed the padded key, so each signature costs two .copy() calls instead
# of hashing the 64-byte key blocks again (RFC 2104).  Each cache keeps its
# most recently used keys last and drops the least recently used one past
# _MAX_CACHED_KEYS.  str and bytes keys live apart: "k" and b"k" hash alike,
# and comparing them would raise BytesWarning under python -bb.
#
# Threads share the caches without a lock: every operation on them is one
# call into C on a plain str or bytes key (a subclass is copied to its base
# type first), which no other thread can interleave with, and popitem()
# evicts without iterating.  Two threads may derive the same key at once;
# both get the same states.
_MAX_CACHED_KEYS = 64  # per kind of key, str or bytes
_STR_KEY_PADS: collections.OrderedDict[Any, _Pads] = collections.OrderedDict()
_BYTES_KEY_PADS: collections.OrderedDict[Any, _Pads] = collections.OrderedDict()

# The last key used and its states, replaced whole, so that a thread reads a
# matching pair: an application with one key never reaches the caches.  The
# fresh object() matches no key.
_last_key_pads: tuple[object, _Pads] = (object(), ((), ()))


def _pads_for(key: object) -> _Pads:
    global _last_key_pads
    last_key, last_pads = _last_key_pads
    if type(key) is type(last_key) and key == last_key:
        return last_pads
    if type(key) is str:
        cache = _STR_KEY_PADS
    elif type(key) is bytes:
        cache = _BYTES_KEY_PADS
    elif isinstance(key, str):  # a subclass: cached as a plain copy
        return _pads_for(str.__str__(key))
    elif isinstance(key, bytes):
        return _pads_for(bytes(memoryview(key)))
    else:
        raise MagicLinkError("key must be str or bytes")
    pads = cache.get(key)
    if pads is None:
        pads = _derive_pads(key)
        # A loop, because threads that race may each add a key past the
        # bound: the next miss brings the cache back within it.
        while len(cache) >= _MAX_CACHED_KEYS:
            try:
                cache.popitem(last=False)  # the least recently used
            except KeyError:  # another thread emptied the cache meanwhile
                break
        cache[key] = pads
    else:
        try:
            cache.move_to_end(key)  # now the most recently used
        except KeyError:  # another thread dropped it meanwhile
            pass
    _last_key_pads = (key, pads)
    return pads


# HMAC (RFC 2104): translation tables that XOR every byte of the padded key
# with ipad (0x36) or opad (0x5C).
_SHA256_BLOCK_SIZE = 64
_IPAD = bytes(byte ^ 0x36 for byte in range(256))
_OPAD = bytes(byte ^ 0x5C for byte in range(256))


def _derive_pads(key: str | bytes) -> _Pads:
    try:
        secret = _utf8(key)
    except UnicodeEncodeError:
        raise MagicLinkError("key is not valid UTF-8 text") from None
    if not secret:
        raise MagicLinkError("key is empty")
    # A dashboard key is 63 letters and digits: white space around a str key
    # was pasted along with it.  (Bytes are taken as given.)
    if isinstance(key, str) and key.strip() != key:
        raise MagicLinkError("key has white space at its start or end")
    # PHP calls the string "0" empty, so php-jwt, the portal's verifier,
    # refuses it as a key: nothing signed with it could sign anyone in.
    if secret == b"0":
        raise MagicLinkError("key is a lone 0, which the portal takes for no key")
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


# -- generate_token's arguments --------------------------------------------------


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
    raise MagicLinkError(_customer_id_mistake(customer_id))


_CUSTOMER_NUMBER_MISTAKE = (
    "customer_id must be the customer's numeric Invoiced id "
    "(a positive integer), not its customer number"
)

# A number a person or a spreadsheet wrote: a sign, digits, perhaps a
# fraction or an exponent ("1234.0", "1.2E+3").
_WRITTEN_NUMBER = r"[+-]?[0-9]+(?:[.][0-9]*)?(?:[eE][+-]?[0-9]+)?"


def _customer_id_mistake(customer_id: object) -> str:
    """Why *customer_id* is not an Invoiced id, in the words that fit the
    mistake; the value itself is never repeated."""
    if type(customer_id) is bool:
        return "customer_id must be the customer's numeric Invoiced id, not a bool"
    if isinstance(customer_id, float):
        return "customer_id must be a whole number, not a float"
    if isinstance(customer_id, int):
        if customer_id <= 0:
            return "customer_id must be positive: Invoiced ids start at 1"
        return "customer_id is larger than any Invoiced id (2**63 - 1)"
    if not isinstance(customer_id, str):
        return "customer_id must be an int or a str of digits"
    if len(customer_id) > 64:  # judged without a copy, however long
        if customer_id.isdigit():
            return "customer_id is larger than any Invoiced id (2**63 - 1)"
        return _CUSTOMER_NUMBER_MISTAKE
    text = customer_id.strip()
    if not text:
        return "customer_id is empty"
    if text != customer_id:
        return "customer_id has white space around it"
    if not re.fullmatch(_WRITTEN_NUMBER, text):
        return _CUSTOMER_NUMBER_MISTAKE
    if not text.isdigit():
        if text[0] == "-" or not text.strip("+.0eE"):
            return "customer_id must be positive: Invoiced ids start at 1"
        if text[0] == "+":
            return "customer_id must be digits alone, with no sign"
        return "customer_id must be a whole number, not a decimal"
    if not text.strip("0"):
        return "customer_id must be positive: Invoiced ids start at 1"
    if text[0] == "0":
        return "customer_id must not start with 0: Invoiced ids have no leading zero"
    return "customer_id is larger than any Invoiced id (2**63 - 1)"


def _check_issuer(issuer: object) -> None:
    # The length first, so that a huge value is refused before it is scanned.
    if isinstance(issuer, str) and len(issuer) > MAX_TOKEN_LENGTH:
        raise MagicLinkError("issuer makes the token too long")
    _check_non_empty_utf8("issuer", issuer)


def _expiry(ttl: object, now: object) -> int:
    if type(ttl) is int and 1 <= ttl <= _MAX_TIMESTAMP:  # the usual ttl
        seconds: float = ttl
    else:
        seconds = _finite_number("ttl", ttl)
        if seconds < 1:  # then int(now + ttl) > now: the token is never born dead
            raise MagicLinkError("ttl must be at least 1 second")
    start = time.time() if now is None else _finite_number("now", now)
    expires = int(start + seconds)
    if not 0 <= expires <= _MAX_TIMESTAMP:
        raise MagicLinkError("now + ttl is not a UNIX time before year 10000")
    return expires


# -- numbers and text, for every function's arguments ------------------------------


def _finite_number(name: str, value: object) -> float:
    if type(value) is bool or not isinstance(value, (int, float)):
        raise MagicLinkError(f"{name} must be a number")
    if not -1e300 < value < 1e300:  # rules out NaN and infinities
        raise MagicLinkError(f"{name} must be finite")
    return value


def _non_negative(name: str, value: object) -> float:
    seconds = _finite_number(name, value)
    if seconds < 0:
        raise MagicLinkError(f"{name} must not be negative")
    return seconds


def _check_non_empty_utf8(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise MagicLinkError(f"{name} must be a non-empty str")
    if not _is_utf8_encodable(value):
        raise MagicLinkError(f"{name} is not valid UTF-8 text")


def _is_utf8_encodable(text: str) -> bool:
    """Whether *text* has no lone surrogate, the one thing UTF-8 cannot hold."""
    if text.isascii():  # the usual case, and much faster than encoding
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# == Links and hosts ==================================================================


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
        host = _checked_host_label(company, "company") + "." + _portal_domain(sandbox)
    elif sandbox:
        raise MagicLinkError("sandbox goes with company, not domain")
    else:
        host = _checked_domain(domain)
    query = []
    if redirect_to is not None:
        query.append("redirect_to=" + _checked_redirect_page(redirect_to))
    if locale is not None:
        query.append("locale=" + _checked_locale(locale))
    return "https://" + host + "/login/", "?" + "&".join(query) if query else ""


def _portal_domain(sandbox: bool) -> str:
    return _SANDBOX_DOMAIN if sandbox else _INVOICED_DOMAIN


def _portal_host(link: PortalLink) -> str:
    """The host name of *link*: its custom domain, or its company's portal."""
    if link.domain is not None:
        return link.domain
    return f"{link.company}.{_portal_domain(link.sandbox)}"


_REDIRECT_ALIASES = {"my_account": "account"}


def _checked_redirect_page(value: object) -> str:
    if type(value) is str:
        if value in REDIRECT_PAGES:
            return value
        if value in _REDIRECT_ALIASES:
            return _REDIRECT_ALIASES[value]
    raise MagicLinkError("redirect_to must be one of: " + ", ".join(REDIRECT_PAGES))


# ?locale=: a language (fr), or a language and a country (fr_CA).  Left for
# re's own cache to compile on first use, off the import's clock.
_LOCALE_PATTERN = r"[a-z]{2,3}(?:_[A-Z]{2})?"


def _checked_locale(value: object) -> str:
    if type(value) is not str or not re.fullmatch(_LOCALE_PATTERN, value):
        raise MagicLinkError("locale must be a language code such as fr or fr_CA")
    return value


_MAX_DOMAIN_LENGTH = 253


def _checked_domain(value: object) -> str:
    """A custom portal domain, lower-cased, if a browser reads it as written."""
    if (
        not isinstance(value, str)
        or not value.isascii()
        or len(value) > _MAX_DOMAIN_LENGTH
    ):
        raise MagicLinkError("domain must be an ASCII host name")
    labels = [_checked_host_label(label, "domain label") for label in value.split(".")]
    if len(labels) < 2:
        raise MagicLinkError("domain must be a host name such as portal.example.com")
    if _is_number_label(labels[-1]):
        raise MagicLinkError("domain must be a host name, not an IP address")
    name = ".".join(labels)
    if name == _INVOICED_DOMAIN or name.endswith("." + _INVOICED_DOMAIN):
        raise MagicLinkError("domain must not be under invoiced.com: give company")
    return name


_HOST_CHARS = b"abcdefghijklmnopqrstuvwxyz0123456789-"
_MAX_LABEL_LENGTH = 63


def _checked_host_label(value: object, argument: str) -> str:
    """*value* lower-cased if it is a host name label; *argument* names it in
    the message."""
    # isascii() first: some non-ASCII letters lower-case to ASCII ones.
    if not isinstance(value, str) or not value.isascii():
        raise MagicLinkError(f"{argument} must be an ASCII host name label")
    label = value.lower()
    if (
        not label
        or len(label) > _MAX_LABEL_LENGTH
        or label.encode("ascii").translate(None, _HOST_CHARS)
        or label[0] == "-"
        or label[-1] == "-"
    ):
        raise MagicLinkError(
            f"{argument} must be 1-63 letters, digits or inner hyphens"
        )
    if label.startswith("xn--") and not _is_valid_a_label(label):
        raise MagicLinkError(f"{argument} is an xn-- label that browsers refuse")
    return label


_HEX_DIGITS = b"0123456789abcdef"


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


# -- reading links back ---------------------------------------------------------------

# The longest link build_url can make.
_MAX_LINK_LENGTH = (
    len("https://")
    + _MAX_DOMAIN_LENGTH
    + len("/login/")
    + MAX_TOKEN_LENGTH
    + len("?redirect_to=balance_forward_statement&locale=fil_PH")
)


# Around a link pasted from an e-mail or a chat: pairs that enclose it, and
# punctuation after it.  No link build_url makes starts or ends with them.
_ENCLOSING_PAIRS = {"<": ("angle brackets", ">"), "(": ("parentheses", ")")}
_ENCLOSING_PAIRS.update({quote: ("quotes", quote) for quote in "\"'"})
_TRAILING_PUNCTUATION = ".,;:!?"


def _link_clutter(url: str) -> str:
    """What a mail or a chat left around or in a link, as a message, or ""."""
    if len(url) > 1 and url[0] in _ENCLOSING_PAIRS:
        name, closing = _ENCLOSING_PAIRS[url[0]]
        if url[-1] == closing:
            return f"link is inside {name}"
    if url[-1:] and url[-1] in _TRAILING_PUNCTUATION:
        return f"link ends with '{url[-1]}', which is not part of a link"
    if "&amp;" in url:
        return "link has '&amp;' where '&' was meant"
    return ""


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
            label = _checked_host_label(company, "company")
            return label, parent == _SANDBOX_DOMAIN, None
        return None, False, _checked_domain(name)
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
            None if redirect_to is None else _checked_redirect_page(redirect_to),
            None if locale is None else _checked_locale(locale),
        )
    except MagicLinkError:
        raise InvalidLinkError("link query has an unknown page or locale") from None


def _verified_link(
    url: str,
    key: _Key | Iterable[_Key],
    *,
    company: str | None,
    domain: str | None,
    sandbox: bool | None,
    leeway: float,
    now: float | None,
    issuer: str | Iterable[str] | None,
) -> tuple[PortalLink, dict[str, Any]]:
    """verify_url's work: the link taken apart, and its token's claims."""
    expected = _expected_portal(company, domain, sandbox)
    key_pads, seconds, clock, issuers = _verification_options(key, leeway, now, issuer)
    link = parse_url(url)
    if not _is_expected_portal(link, *expected):
        raise InvalidLinkError("link is for another portal")
    return link, _verified_claims(link.token, key_pads, seconds, clock, issuers)


def _expected_portal(
    company: object, domain: object, sandbox: object
) -> tuple[str | None, str | None, bool | None]:
    if company is not None and domain is not None:
        raise MagicLinkError("give at most one of company or domain")
    if sandbox is not None and type(sandbox) is not bool:
        raise MagicLinkError("sandbox must be True, False or None")
    return (
        None if company is None else _checked_host_label(company, "company"),
        None if domain is None else _checked_domain(domain),
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


# == Encoders and decoders ==============================================================


def _utf8(text: str | bytes) -> bytes:
    """The one place where text becomes bytes: str is encoded as UTF-8."""
    return text.encode("utf-8") if isinstance(text, str) else text


_json_string = json.encoder.encode_basestring_ascii

_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _b64encode(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_TO_URLSAFE)


# The "=" padding binascii wants, by a canonical segment's length remainder.
_PADDING = (b"", b"", b"==", b"=")


def _b64decode(segment: bytes, part: str) -> bytes:
    _check_canonical(segment, part)
    padding = _PADDING[len(segment) & 3]
    return binascii.a2b_base64(segment.translate(_FROM_URLSAFE) + padding)


def _decode_text(segment: bytes, part: str) -> str:
    try:
        return _b64decode(segment, part).decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedTokenError(f"{part} is not UTF-8") from None


def _decode_json_object(segment: bytes, part: str) -> dict[str, Any]:
    """The JSON object in a base64url *segment*; *part* names it in messages."""
    return _parse_json_object(_decode_text(segment, part), part)


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
# that duplicate member names are not silently merged; _dicts_from_pairs()
# makes them dicts.  No decoded value is ever NaN or infinite.
_JSON_DECODER = json.JSONDecoder(
    object_pairs_hook=tuple,
    parse_constant=_reject_constant,
    parse_float=_finite_float,
)


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
        return _dicts_from_pairs(pairs, part)
    members = dict(pairs)
    if len(members) != len(pairs):
        raise MalformedTokenError(f"{part} has duplicate member names")
    return members


# Deepest nesting of JSON objects and arrays accepted in a header or payload.
_MAX_JSON_DEPTH = 32


def _dicts_from_pairs(pairs: tuple[tuple[str, Any], ...], part: str) -> dict[str, Any]:
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
                _check_no_lone_surrogate(value, part)
            if type(name) is str:  # a member's name, not an array's index
                _check_member_name(name, part)
        if len(target) != len(source):
            raise MalformedTokenError(f"{part} has duplicate member names")
    return top


def _check_member_name(name: str, part: str) -> None:
    # PHP's json_decode, as php-jwt calls it (objects, not arrays), refuses a
    # member name that starts with NUL (JSON_ERROR_INVALID_PROPERTY_NAME), so
    # the portal refuses the token.
    if name[:1] == "\0":
        raise MalformedTokenError(f"{part} has a member name that starts with NUL")
    _check_no_lone_surrogate(name, part)


def _check_no_lone_surrogate(value: object, part: str) -> None:
    if type(value) is str and not _is_utf8_encodable(value):
        raise MalformedTokenError(f"{part} has a lone surrogate")


# == Running the file as a command ==================================================

if __name__ == "__main__":
    # python3 magiclink.py ... and python3 -m magiclink, from a clone or an
    # install: the command line is the module beside this one.
    try:
        from magiclink_cli import main
    except ModuleNotFoundError as error:
        if error.name != "magiclink_cli":
            raise
        print(
            "magiclink: this file is the library; the command line is magiclink_cli.py",
            file=sys.stderr,
        )
        sys.exit(2)
    sys.exit(main())
