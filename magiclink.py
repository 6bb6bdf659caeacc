# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The magiclink authors
# magiclink 1.3.0, a single-file module from the magiclink git repository.
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
portal accepts.  The HMAC is the standard library's; no key, nor anything
made from one, outlives the call that was given it.

The file reads in two halves.  First tokens: generate_token and verify_token,
then everything they use, in the order a token is checked.  Then links:
build_url, magic_link, parse_url, verify_url and what they use.  It needs
nothing but the standard library: copy this file into a project to vendor it.
Its command line is the file beside it, ``magiclink_cli.py``.

>>> token = generate_token("secret", 1234, now=1700000000)
>>> verify_token(token, "secret", now=1700000000)["sub"]
'1234'
"""

from __future__ import annotations

import binascii
import collections  # already loaded by re
import functools  # already loaded by re
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
    "decode_unverified",
    "generate_token",
    "magic_link",
    "parse_url",
    "verify_token",
    "verify_url",
]

__version__ = "1.3.0"

# Names for type checkers only: importing typing would cost every cold start.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, NamedTuple

    # verify_token's checked arguments: the keys' bytes, the leeway, the
    # clock, and the accepted issuers (None: any).
    _Options = tuple[list[bytes], float, float, frozenset[str] | None]

# Constants.  The public ones, and the private ones that more than one part
# of the module uses, are here; a private constant with a single user stands
# just above that function.

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

#: The ``iss`` claim of tokens made here unless the caller names its service.
DEFAULT_ISSUER = "magiclink-python"

#: Longer tokens are rejected before any decoding.
MAX_TOKEN_LENGTH = 8192

_B64URL_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

# Largest NumericDate accepted: 9999-12-31T23:59:59Z.
_MAX_TIMESTAMP = 253402300799

# The portal looks the customer up by its numeric id, a signed 64-bit integer:
# 1 to 2**63 - 1, written in ASCII digits with no sign or leading zero.
_MAX_CUSTOMER_ID = 2**63 - 1


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


# == Tokens ==========================================================================


# base64url of the header this module writes: {"alg":"HS256","typ":"JWT"}.
_HEADER_SEGMENT = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"


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
    # 1. The arguments, in order.
    subject = _customer_id_text(customer_id)
    if subject is None:
        raise MagicLinkError(_customer_id_mistake(customer_id))
    if isinstance(issuer, str) and len(issuer) > MAX_TOKEN_LENGTH:  # not read
        raise MagicLinkError("issuer makes the token too long")
    _check_non_empty_utf8("issuer", issuer)
    secret = _key_bytes(key)
    expires = _expiry(ttl, now)

    # 2. The claims as compact ASCII JSON (the subject is digits), then the
    #    signing input and its HMAC-SHA256, in base64url (RFC 7515 section 7.1).
    payload = f'{{"sub":"{subject}","iss":{_json_string(issuer)},"exp":{expires}}}'
    signing_input = _HEADER_SEGMENT + b"." + _b64encode(payload.encode("ascii"))
    mac = hmac.digest(secret, signing_input, "sha256")
    token = signing_input + b"." + _b64encode(mac)
    if len(token) > MAX_TOKEN_LENGTH:
        raise MagicLinkError("issuer makes the token too long")
    return token.decode("ascii")


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
    it (at leeway 0), and it must also have an ``exp`` and no ``aud``.  The
    signature is checked before any claim is read.  Raises a subclass of
    :class:`InvalidTokenError` for a rejected token, :class:`MagicLinkError`
    for bad arguments.

    >>> token = generate_token("secret", 42, ttl=60, now=1700000000)
    >>> verify_token(token, "secret", now=1700000030)
    {'sub': '42', 'iss': 'magiclink-python', 'exp': 1700000060}
    >>> verify_token(token, "secret", now=1700000060)
    Traceback (most recent call last):
      ...
    magiclink.ExpiredTokenError: token has expired
    """
    return _verified_claims(token, _verification_options(key, leeway, now, issuer))


# -- the arguments ---------------------------------------------------------------


def _customer_id_text(value: object) -> str | None:
    """*value* in plain decimal digits if it is an id the portal can look up
    (generate_token's customer_id, verify_token's sub), or None."""
    if isinstance(value, int) and type(value) is not bool:
        # int.__index__: the plain int of a subclass (str(IntEnum) is a name).
        number = int.__index__(value)
        return str(number) if 0 < number <= _MAX_CUSTOMER_ID else None
    if not isinstance(value, str):
        return None
    text = str.__str__(value)  # a plain str, whatever a subclass overrides
    # The length first: a huge text is refused before it is scanned.
    if (
        0 < len(text) <= 19
        and text.isascii()
        and text.isdigit()
        and text[0] != "0"
        and int(text) <= _MAX_CUSTOMER_ID
    ):
        return text
    return None


_NOT_A_CUSTOMER_NUMBER = (
    "customer_id must be the customer's numeric Invoiced id "
    "(a positive integer), not its customer number"
)
_NOT_POSITIVE = "customer_id must be positive: Invoiced ids start at 1"
_TOO_LARGE = "customer_id is larger than any Invoiced id (2**63 - 1)"

# A number as a person or a spreadsheet writes one: "-12", "1234.0", "1.2E+3".
_WRITTEN_NUMBER = r"[+-]?[0-9]+(?:[.][0-9]*)?(?:[eE][+-]?[0-9]+)?"


def _customer_id_mistake(customer_id: object) -> str:
    """Why *customer_id* is not an Invoiced id; the value is never repeated."""
    if type(customer_id) is bool:
        return "customer_id must be the customer's numeric Invoiced id, not a bool"
    if isinstance(customer_id, float):
        return "customer_id must be a whole number, not a float"
    if isinstance(customer_id, int):
        return _NOT_POSITIVE if customer_id <= 0 else _TOO_LARGE
    if not isinstance(customer_id, str):
        return "customer_id must be an int or a str of digits"
    if len(customer_id) > 64:  # judged by its start alone, however long
        return _TOO_LARGE if customer_id[:65].isdigit() else _NOT_A_CUSTOMER_NUMBER
    text = customer_id.strip()
    if not text:
        return "customer_id is empty"
    if text != customer_id:
        return "customer_id has white space around it"
    if not re.fullmatch(_WRITTEN_NUMBER, text):
        return _NOT_A_CUSTOMER_NUMBER
    if text[0] == "-" or not text.strip("+.0eE"):
        return _NOT_POSITIVE
    if text[0] == "+":
        return "customer_id must be digits alone, with no sign"
    if not text.isdigit():
        return "customer_id must be a whole number, not a decimal"
    if text[0] == "0":
        return "customer_id must not start with 0: Invoiced ids have no leading zero"
    return _TOO_LARGE


def _check_non_empty_utf8(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise MagicLinkError(f"{name} must be a non-empty str")
    if not _is_utf8_encodable(value):
        raise MagicLinkError(f"{name} is not valid UTF-8 text")


def _is_utf8_encodable(text: str) -> bool:
    """Whether *text* has no lone surrogate, the one thing UTF-8 cannot hold."""
    try:
        str.encode(text, "utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _key_bytes(key: object) -> bytes:
    """The Magic Link key as the bytes HMAC takes, if it can be one."""
    if isinstance(key, str):
        text = str.__str__(key)  # a plain str, whatever a subclass overrides
        try:
            secret = text.encode("utf-8")
        except UnicodeEncodeError:
            raise MagicLinkError("key is not valid UTF-8 text") from None
    elif isinstance(key, bytes):
        text, secret = "", bytes(memoryview(key))  # bytes are taken as given
    else:
        raise MagicLinkError("key must be str or bytes")
    if not secret:
        raise MagicLinkError("key is empty")
    # White space around a dashboard key (63 letters and digits) was pasted.
    if text.strip() != text:
        raise MagicLinkError("key has white space at its start or end")
    # PHP calls the string "0" empty, so php-jwt, the portal's verifier,
    # refuses it as a key: nothing signed with it could sign anyone in.
    if secret == b"0":
        raise MagicLinkError("key is a lone 0, which the portal takes for no key")
    return secret


def _expiry(ttl: object, now: object) -> int:
    seconds = _finite_number("ttl", ttl)
    if seconds < 1:  # then int(now + ttl) > now: the token is never born dead
        raise MagicLinkError("ttl must be at least 1 second")
    start = time.time() if now is None else _finite_number("now", now)
    expires = int(start + seconds)
    if not 0 <= expires <= _MAX_TIMESTAMP:
        raise MagicLinkError("now + ttl is not a UNIX time before year 10000")
    return expires


def _finite_number(name: str, value: object) -> float:
    if type(value) is bool or not isinstance(value, (int, float)):
        raise MagicLinkError(f"{name} must be a number")
    if not -1e300 < value < 1e300:  # rules out NaN and infinities
        raise MagicLinkError(f"{name} must be finite")
    return value


def _verification_options(
    key: str | bytes | Iterable[str | bytes],
    leeway: float,
    now: float | None,
    issuer: str | Iterable[str] | None,
) -> _Options:
    """verify_token's arguments, checked in order."""
    if isinstance(key, (str, bytes)):
        secrets = [_key_bytes(key)]
    else:
        try:
            secrets = list(map(_key_bytes, key))
        except TypeError:  # not iterable
            raise MagicLinkError(
                "key must be str, bytes or an iterable of them"
            ) from None
        if not secrets:
            raise MagicLinkError("key iterable is empty")
    seconds = _finite_number("leeway", leeway)
    if seconds < 0:
        raise MagicLinkError("leeway must not be negative")
    clock = time.time() if now is None else _finite_number("now", now)
    accepted = None
    if issuer is not None:
        try:
            accepted = frozenset([issuer] if isinstance(issuer, str) else issuer)
        except TypeError:
            raise MagicLinkError("issuer must be a str or an iterable of str") from None
        if not accepted:
            raise MagicLinkError("issuer iterable is empty")
        for name in accepted:
            _check_non_empty_utf8("issuer", name)
    return secrets, seconds, clock, accepted


# -- verification, in the order a token is checked ------------------------------------


def _verified_claims(token: object, options: _Options) -> dict[str, Any]:
    """The claims of *token* if valid: RFC 7515 5.2, RFC 7519 7.2, the portal."""
    secrets, leeway, clock, issuers = options
    # 1. Its form: three segments of base64url, of bounded length.
    signing_input, header, payload, signature = _split_token(token)

    # 2. The header: a JSON object whose alg is exactly HS256 (steps 2-5).
    _check_header(header)

    # 3. The signature: HMAC-SHA256 under each key (RFC 7518 3.2), compared in
    #    constant time (step 6).
    mac = _b64decode(signature, "signature")
    for secret in secrets:
        if hmac.compare_digest(hmac.digest(secret, signing_input, "sha256"), mac):
            break
    else:
        raise InvalidSignatureError("signature does not match the key")

    # 4. The claims, read only now (RFC 7519 section 7.2 step 10).
    claims = _decode_json_object(payload, "payload")
    _check_claims(claims)

    # 5. The issuer, when the caller names the ones it accepts.
    if issuers is not None:
        issued_by = claims.get("iss")
        if type(issued_by) is not str or issued_by not in issuers:
            raise InvalidClaimsError("iss claim is not an accepted issuer")

    # 6. The dates as the portal reads them: dead from exp on, not yet valid
    #    while nbf or iat is ahead (RFC 7519 sections 4.1.4-4.1.6).
    if clock >= claims["exp"] + leeway:
        raise ExpiredTokenError("token has expired")
    if "nbf" in claims and claims["nbf"] > clock + leeway:
        raise ImmatureTokenError("token is not valid yet (nbf)")
    if "iat" in claims and claims["iat"] > clock + leeway:
        raise ImmatureTokenError("token is not valid yet (iat)")
    return claims


_TOKEN_ALPHABET = _B64URL_ALPHABET + b"."


def _split_token(token: object) -> tuple[bytes, bytes, bytes, bytes]:
    """The signing input and the three segments of a well-formed token."""
    if not isinstance(token, str):
        raise MalformedTokenError("token must be a str")
    if len(token) > MAX_TOKEN_LENGTH:
        raise MalformedTokenError("token is too long")
    serialized = str.encode(token, "ascii", "replace")  # "?" is not base64url
    if serialized.translate(None, _TOKEN_ALPHABET):
        raise MalformedTokenError("token has a character outside base64url")
    signing_input, _, signature = serialized.rpartition(b".")
    header, _, payload = signing_input.partition(b".")
    if not (header and payload and signature) or b"." in payload:
        raise MalformedTokenError("token must be three non-empty segments")
    return signing_input, header, payload, signature


# Canonically the bits past the last whole byte are zero: a segment of length
# 4n+2 ends in one of 4 characters, 4n+3 in one of 16, and 4n+1 is no base64.
_CANONICAL_LAST_CHARS = (_B64URL_ALPHABET, b"", b"AQgw", b"AEIMQUYcgkosw048")
_PADDING = (b"", b"", b"==", b"=")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _b64decode(segment: bytes, part: str) -> bytes:
    """A segment's bytes, if it is canonical base64url (RFC 4648 3.5)."""
    remainder = len(segment) & 3
    if segment[-1] not in _CANONICAL_LAST_CHARS[remainder]:
        raise MalformedTokenError(f"{part} is not canonical base64url")
    return binascii.a2b_base64(segment.translate(_FROM_URLSAFE) + _PADDING[remainder])


class _NumberOutOfRange(ValueError):
    """A JSON number too large for a float, such as 1e400."""


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON (RFC 8259)")


def _finite_float(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise _NumberOutOfRange
    return number


# Objects decode to tuples of (name, value) pairs, so that no duplicate name
# is merged unseen; _json_object() makes them dicts.  No number is NaN or inf.
_JSON_DECODER = json.JSONDecoder(
    object_pairs_hook=tuple,
    parse_constant=_reject_constant,
    parse_float=_finite_float,
)


def _decode_json_object(segment: bytes, part: str) -> dict[str, Any]:
    """The strict JSON object in a base64url *segment* (*part* names it)."""
    try:
        text = _b64decode(segment, part).decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedTokenError(f"{part} is not UTF-8") from None
    document = text.strip(" \t\n\r")  # the white space JSON allows around it
    try:
        pairs, end = _JSON_DECODER.raw_decode(document)
    except _NumberOutOfRange:
        # In the payload that is a claim out of range; a header is unusable.
        error = InvalidClaimsError if part == "payload" else MalformedTokenError
        raise error(f"{part} has a number too large for a float") from None
    except RecursionError:
        raise MalformedTokenError(f"{part} is nested too deeply") from None
    except ValueError:  # JSONDecodeError, or an integer too long to convert
        end = -1
    if end != len(document):
        raise MalformedTokenError(f"{part} is not strict JSON")
    if type(pairs) is not tuple:
        raise MalformedTokenError(f"{part} is not a JSON object")
    return _json_object(pairs, part)


# Deepest nesting of JSON objects and arrays accepted in a header or payload.
_MAX_JSON_DEPTH = 32


def _json_object(pairs: tuple[tuple[str, Any], ...], part: str) -> dict[str, Any]:
    """Decoded pairs as dicts all the way down, without recursion, refusing
    duplicate names, lone surrogates, NUL-led names and deep nesting."""
    top: dict[str, Any] = {}
    pending: list[tuple[Any, Any, int]] = [(pairs, top, 1)]
    while pending:
        source, target, depth = pending.pop()
        if depth > _MAX_JSON_DEPTH:
            raise MalformedTokenError(f"{part} is nested too deeply")
        texts = []  # the names and strings of this object or array
        for name, value in source if type(source) is tuple else enumerate(source):
            if type(value) is str:
                texts.append(value)
                target[name] = value
            elif type(value) is tuple:
                target[name] = {}
                pending.append((value, target[name], depth + 1))
            else:
                target[name] = value
                if type(value) is list:
                    pending.append((value, value, depth + 1))
            # PHP refuses a member name that starts with NUL (JSON error 9).
            if type(name) is str:
                if name[:1] == "\0":
                    raise MalformedTokenError(
                        f"{part} has a member name that starts with NUL"
                    )
                texts.append(name)
        if len(target) != len(source):
            raise MalformedTokenError(f"{part} has duplicate member names")
        if not _is_utf8_encodable("".join(texts)):
            raise MalformedTokenError(f"{part} has a lone surrogate")
    return top


# RFC 7515 section 4.1.9: "typ" is compared without regard to ASCII case.
_ACCEPTED_TYPES = ("jwt", "application/jwt")


# The module's one cache: verdicts on headers (no secret in them) by their bytes,
# for an application's tokens share one.  A refused header is not kept.
@functools.lru_cache(maxsize=16)
def _check_header(segment: bytes) -> None:
    header = _decode_json_object(segment, "header")
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


def _check_claims(claims: dict[str, Any]) -> None:
    """The portal's rules for the claims, but for iss and the dates' order."""
    if not _is_timestamp(claims.get("exp")):
        if "exp" not in claims:
            raise InvalidClaimsError("exp claim is missing")
        raise InvalidClaimsError("exp claim must be a UNIX time")
    for name in ("nbf", "iat"):
        if name in claims and not _is_timestamp(claims[name]):
            raise InvalidClaimsError(f"{name} claim must be a UNIX time")
    if "sub" not in claims:
        raise InvalidClaimsError("sub claim is missing")
    if _customer_id_text(claims["sub"]) is None:
        raise InvalidClaimsError("sub claim must be a numeric Invoiced customer id")
    if "aud" in claims:  # RFC 7519 section 4.1.3: there is no audience to match
        raise InvalidClaimsError("aud claim is not accepted")
    if "jti" in claims and type(claims["jti"]) is not str:
        raise InvalidClaimsError("jti claim must be a string")


def _is_timestamp(value: object) -> bool:
    # Decoded JSON numbers are exactly int or float: not bool, NaN or infinite.
    return (type(value) is int or type(value) is float) and 0 <= value <= _MAX_TIMESTAMP


# -- the encoders that make a token -------------------------------------------------


_json_string = json.encoder.encode_basestring_ascii

_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64encode(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_TO_URLSAFE)


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the header and the claims of *token* WITHOUT checking its
    signature or any claim: for showing a token to a person, never for
    trusting it (that is :func:`verify_token`).

    The token's form and JSON are read by the rules verify_token applies, so
    a token this refuses, with the same :class:`InvalidTokenError` subclass,
    verify_token refuses too.

    >>> decode_unverified(generate_token("secret", 42, now=1700000000))
    ({'alg': 'HS256', 'typ': 'JWT'}, {'sub': '42', 'iss': 'magiclink-python', \
'exp': 1700003600})
    """
    _, header, payload, _ = _split_token(token)
    return _decode_json_object(header, "header"), _decode_json_object(
        payload, "payload"
    )


# == Links ===========================================================================

_INVOICED_DOMAIN = "invoiced.com"
_SANDBOX_DOMAIN = "sandbox.invoiced.com"

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

    @property
    def host(self) -> str:
        """The link's host name: its custom domain, or its company's portal.

        >>> parse_url("https://Acme.sandbox.invoiced.com/login/aa.bb.cc").host
        'acme.sandbox.invoiced.com'
        """
        if self.domain is not None:
            return self.domain
        return f"{self.company}.{_portal_domain(self.sandbox)}"


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
    expected = _expected_portal(company, domain, sandbox)
    options = _verification_options(key, leeway, now, issuer)
    link = parse_url(url)
    if not _is_expected_portal(link, *expected):
        raise InvalidLinkError(f"link is for another portal: {link.host}")
    return _verified_claims(link.token, options)


# -- the host and the query of a link --------------------------------------------


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
        host = _checked_company(company) + "." + _portal_domain(sandbox)
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


def _checked_company(value: object) -> str:
    """The company, lower-cased; its portal's URL or host is refused by name."""
    if isinstance(value, str) and value.isascii() and "." in value:
        host = value.strip().lower().partition("://")[2] or value.strip().lower()
        name, _, parent = host.partition("/")[0].partition(":")[0].partition(".")
        if parent in (_INVOICED_DOMAIN, _SANDBOX_DOMAIN):
            label = _checked_host_label(name, "company")
            # A company name is short; a long label could be a pasted secret.
            shown = label if len(label) <= 30 else "the host's first label"
            sandbox = ", and sandbox" if parent == _SANDBOX_DOMAIN else ""
            raise MagicLinkError(f"give the company name alone: {shown}{sandbox}")
    return _checked_host_label(value, "company")


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


def _expected_portal(
    company: object, domain: object, sandbox: object
) -> tuple[str | None, str | None, bool | None]:
    if company is not None and domain is not None:
        raise MagicLinkError("give at most one of company or domain")
    if sandbox is not None and type(sandbox) is not bool:
        raise MagicLinkError("sandbox must be True, False or None")
    return (
        None if company is None else _checked_company(company),
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


# == Run as a script =================================================================

if __name__ == "__main__":
    print(
        "magiclink: this file is the library; the command line is magiclink_cli.py",
        file=sys.stderr,
    )
    sys.exit(2)
