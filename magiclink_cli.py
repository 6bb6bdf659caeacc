# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The magiclink authors
# magiclink 1.3.0, the command line of the magiclink git repository.
"""The magiclink command line: make, verify and inspect Magic Link sign-in links.

The library is ``magiclink.py``; this module is the program on top of it, as
``json.tool`` is to ``json``.  It reads the key from the environment or a key
file (never from an option), makes one link or a CSV of links, and verifies
or inspects a token or a link.  It has no cryptography of its own: every
token is made, split and checked by the library.

Run it as ``magiclink`` once installed, or ``python magiclink_cli.py`` (or
``python -m magiclink_cli``) beside ``magiclink.py``.  It uses the library's
public names only.

Exit status: 0 success; 1 an invalid token or link, or a bad row for
``urls``; 2 a usage or input error; 141 when the reader of standard output has
gone (as for a process that SIGPIPE ends); 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import itertools
import json
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, NoReturn

import magiclink
from magiclink import (
    DEFAULT_ISSUER,
    REDIRECT_PAGES,
    ExpiredTokenError,
    InvalidLinkError,
    InvalidTokenError,
    MagicLinkError,
    PortalLink,
    decode_unverified,
    generate_token,
    magic_link,
    parse_url,
    verify_token,
    verify_url,
)

__all__ = ["main"]

_KEY_ENV_VAR = "INVOICED_MAGIC_LINK_KEY"

_DESCRIPTION = """\
Make, verify and inspect Invoiced Magic Link sign-in links.

The key is read from the environment variable INVOICED_MAGIC_LINK_KEY or from
--key-file PATH ('-' reads standard input); there is no option that takes the
key itself, so that it stays out of shell history and process listings.
"""

_EXAMPLES = """\
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
_OPTION_NAME = r"--[A-Za-z][A-Za-z0-9-]{0,39}"


def main(argv: list[str] | None = None) -> int:
    """Run the command line with *argv* (default ``sys.argv[1:]``) and return
    its exit status.

    >>> main(["inspect", "--json", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2ln"])
    {"verified": false, "claims": {"sub": "1234"}, "header": {"alg": "HS256"}, \
"expires_at": null}
    0
    """
    parser = _parser()
    try:
        try:
            _note_misspelt_options(parser, sys.argv[1:] if argv is None else argv)
            args, unknown = parser.parse_known_args(argv)
            if unknown:
                getattr(args, "parser", parser).fail(_unknown_arguments(unknown))
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


class _Parser(argparse.ArgumentParser):
    commands: dict[str, _Parser]  # the main parser's, by command name
    misspelt: tuple[str, ...] = ()  # a command's: words like options it lacks

    def error(self, message: str) -> NoReturn:
        """argparse's own errors: its *message* may quote what was typed,
        a pasted key perhaps, so the message shown is rebuilt from it with
        nothing but the names this program defines."""
        if self.misspelt and message.endswith(_REQUIRED_ENDINGS):
            self.fail(_unknown_arguments(list(self.misspelt)))  # the cause, likely
        self.fail(_message_without_argv(self, message))

    def fail(self, message: str) -> NoReturn:
        """Exit with the usage and *message*: a fixed phrase of this program
        or of the library, never text from the command line."""
        # The library names its arguments; the command line, its options.
        super().error(message.replace(", and sandbox", ", and --sandbox"))


def _note_misspelt_options(parser: _Parser, argv: list[str]) -> None:
    """Tell the command's parser which words look like options it does not
    have (--compnay), so that it names them rather than saying that a
    required option is missing."""
    words = argv[: argv.index("--")] if "--" in argv else argv
    command = next((word for word in words if word in parser.commands), None)
    if command is not None:
        known = parser.commands[command]._option_string_actions
        parser.commands[command].misspelt = tuple(
            word
            for word in words
            if word.startswith("--") and word.partition("=")[0] not in known
        )


def _parser() -> _Parser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="magiclink",
        description=_DESCRIPTION,
        epilog=_EXAMPLES,
        formatter_class=formatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=magiclink.__version__)
    commands = parser.add_subparsers(title="commands", dest="command", required=True)
    parser.commands = {}
    for name, (summary, example, add_arguments, run) in _COMMANDS.items():
        command = parser.commands[name] = commands.add_parser(
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


# -- url ------------------------------------------------------------------------


def _add_url_arguments(command: _Parser) -> None:
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

    return _print_signed(args, make)


# -- token ----------------------------------------------------------------------


def _add_token_arguments(command: _Parser) -> None:
    _add_customer_id(command)
    _add_token_options(command)
    _add_key_file(command)


def _run_token(args: Any) -> int:
    def make(key: str | bytes, now: float) -> str:
        return generate_token(
            key, args.customer_id, args.ttl, issuer=args.issuer, now=now
        )

    return _print_signed(args, make)


def _print_signed(args: Any, make: Callable[[str | bytes, float], str]) -> int:
    """Print the URL or token that *make* signs; tell a person when it expires."""
    key = _key(args)
    now = time.time()
    try:
        signed = make(key, now)
    except MagicLinkError as exc:
        args.parser.fail(str(exc))
    print(signed)
    # For a person at a terminal; a script reads standard output alone.
    if sys.stderr.isatty():
        print("expires " + _describe_time(_expiry_of(signed), now), file=sys.stderr)
    return 0


def _expiry_of(signed: str) -> int:
    """The exp claim of a token or link this program has just made."""
    token = parse_url(signed).token if _looks_like_url(signed) else signed
    exp: int = decode_unverified(token)[1]["exp"]
    return exp


# -- urls -----------------------------------------------------------------------


def _add_urls_arguments(command: _Parser) -> None:
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
    key = _key(args)
    if args.ids in (None, "-") and args.key_file == "-":
        args.parser.fail("standard input cannot hold both the key and the ids")
    now = time.time()  # one clock reading: every link expires at the same moment

    def link_for(customer_id: int | str) -> str:
        return magic_link(
            key,
            customer_id,
            args.company,
            ttl=args.ttl,
            sandbox=args.sandbox,
            domain=args.domain,
            redirect_to=args.redirect_to,
            locale=args.locale,
            issuer=args.issuer,
            now=now,
        )

    try:  # every argument checked before a row is read: a link for id 1
        expires_at = _iso_utc(_expiry_of(link_for(1)))
    except MagicLinkError as exc:
        args.parser.fail(str(exc))

    source = _open_ids(args)
    try:
        first = source.readline()
        layout = _csv_layout(args, first)
        writer = csv.writer(sys.stdout, lineterminator="\n")
        if layout is None:  # a plain list of ids
            header, rows, column, kept = (
                ["customer_id"],
                _plain_rows(first, source),
                0,
                None,
            )
        else:
            header, column, kept = layout.names, layout.id_column, layout.kept
            rows = _csv_rows(source, layout)
        try:
            writer.writerow([*_kept(header, kept), "url", "expires_at"])
        except UnicodeEncodeError:
            args.parser.fail(_unwritable("the header row"))
        return _write_links(rows, column, kept, link_for, expires_at, writer)
    finally:
        if source.buffer is getattr(sys.stdin, "buffer", None):
            source.detach()  # standard input stays open
        else:
            source.close()


def _write_links(
    rows: Iterator[tuple[int, list[str], str]],
    column: int,
    kept: list[int] | None,
    link_for: Callable[[int | str], str],
    expires_at: str,
    writer: Any,
) -> int:
    """Write each good row with its link; report each bad one by its line."""
    any_bad = False
    for line, fields, problem in rows:
        try:
            if problem:
                raise MagicLinkError(problem)
            url = link_for(fields[column].strip())
            # One write a row, encoded whole before any of it is written.
            writer.writerow([*_kept(fields, kept), url, expires_at])
        except MagicLinkError as exc:
            print(f"magiclink urls: line {line}: {exc}", file=sys.stderr)
            any_bad = True
        except UnicodeEncodeError:
            print(
                f"magiclink urls: line {line}: {_unwritable('this row')}",
                file=sys.stderr,
            )
            any_bad = True
    return 1 if any_bad else 0


def _unwritable(what: str) -> str:
    encoding = getattr(sys.stdout, "encoding", None) or "unknown"
    return f"standard output's encoding ({encoding}) cannot write {what}"


def _open_ids(args: Any) -> io.TextIOWrapper:
    """The ids as text: UTF-8, a byte order mark (as spreadsheets write it)
    dropped, bytes that are not UTF-8 kept for _row_problem to find."""
    binary: Any
    if args.ids in (None, "-"):
        binary = getattr(sys.stdin, "buffer", None)
        if binary is None:
            args.parser.fail("standard input cannot be read")
    else:
        try:
            if stat.S_ISCHR(os.stat(args.ids).st_mode):  # /dev/zero would never end
                args.parser.fail("cannot read FILE: it is a device")
            binary = open(args.ids, "rb")  # noqa: SIM115 (read until the run ends)
        except OSError as exc:
            args.parser.fail("cannot read FILE: " + _os_reason(exc))
    return io.TextIOWrapper(
        binary, encoding="utf-8-sig", errors="surrogateescape", newline=""
    )


class _CsvLayout(NamedTuple):
    delimiter: str
    names: list[str]  # the header row's
    id_column: int
    kept: list[int]  # the columns written again: all but url and expires_at


_ID_COLUMN_KEYS = ("id", "customerid")
_OUTPUT_COLUMN_KEYS = ("url", "expiresat")  # what urls itself adds


def _column_key(name: str) -> str:
    # How exports spell a column: " Id ", "customer_id", "Customer ID", "CustomerId".
    return re.sub(r"[\s_-]+", "", name).casefold()


def _csv_layout(args: Any, first_line: str) -> _CsvLayout | None:
    """How the input is laid out, from its first line: CSV with a header row
    that has an id column, or (None) a plain list of ids.  A first line that
    is clearly a header (no field is a number) without an id column is a
    usage error that names the columns found."""
    delimiter = max(
        ",;\t", key=first_line.count
    )  # spreadsheets in many locales write ;
    try:
        names = next(csv.reader([first_line], delimiter=delimiter, strict=True), [])
    except csv.Error:
        return None
    if not _is_utf8("".join(names)):
        args.parser.fail("the header row is not UTF-8 text: save the file as UTF-8")
    keys = [_column_key(name) for name in names]
    columns = [n for n, key in enumerate(keys) if key in _ID_COLUMN_KEYS]
    if not columns:
        if any(keys) and not any(re.fullmatch(_NUMBER, name) for name in names):
            shown = ", ".join(ascii(name.strip())[1:-1][:40] for name in names[:12])
            args.parser.fail(
                "the first line looks like a header row, but none of its columns is "
                f"an id (id, customer_id, Customer ID): {shown}"
            )
        return None
    exact = [n for n in columns if keys[n] == "id"]
    id_column = (exact or columns)[0]
    if len(columns) > 1:
        name = ascii(names[id_column].strip())[1:-1][:40]
        print(
            f"magiclink urls: more than one column could hold the ids; using "
            f"column {id_column + 1} ({name})",
            file=sys.stderr,
        )
    kept = [
        n
        for n, key in enumerate(keys)
        if key not in _OUTPUT_COLUMN_KEYS or n == id_column
    ]
    return _CsvLayout(delimiter, names, id_column, kept)


# A number as a spreadsheet writes one: no header field looks like this.
_NUMBER = r"\s*[+-]?[0-9]+(?:[.,][0-9]*)?\s*"


def _kept(fields: list[str], kept: list[int] | None) -> list[str]:
    return fields if kept is None else [fields[n] for n in kept]


def _plain_rows(first: str, source: Any) -> Iterator[tuple[int, list[str], str]]:
    lines: Iterator[str] = itertools.chain([first], source) if first else iter(())
    blank: list[int] = []  # reported only if a row follows them
    for line, text in enumerate(lines, 1):
        fields = [text.strip()]
        if not fields[0]:
            blank.append(line)
            continue
        yield from ((number, [""], "the line is empty") for number in blank)
        blank.clear()
        yield line, fields, _row_problem(fields, 0)


def _csv_rows(source: Any, layout: _CsvLayout) -> Iterator[tuple[int, list[str], str]]:
    width = len(layout.names)
    reader = csv.reader(source, delimiter=layout.delimiter, strict=True)
    blank: list[int] = []  # reported only if a row follows them
    while True:
        line = reader.line_num + 2  # where the row starts; the header is line 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error:
            fields, problem = [], "not a well-formed CSV row"
        else:
            if not "".join(fields).strip():  # an empty line, or ",,"
                blank.append(line)
                continue
            if len(fields) != width:
                problem = f"{len(fields)} fields where the header has {width}"
            else:
                problem = _row_problem(fields, layout.id_column)
        yield from ((number, [], "the line is empty") for number in blank)
        blank.clear()
        yield line, fields, problem


def _is_utf8(text: str) -> bool:
    # Bytes that are not UTF-8 were read as lone surrogates (surrogateescape).
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _row_problem(fields: list[str], column: int) -> str:
    """Why the row cannot be used, or "" if it can."""
    if not _is_utf8("".join(fields)):
        return "not UTF-8 text"
    if not fields[column].strip():
        return "the id is empty"
    return ""


# -- verify ---------------------------------------------------------------------


def _add_verify_arguments(command: _Parser) -> None:
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
    if args.token == "-" and args.key_file == "-":
        args.parser.fail("standard input cannot hold both the key and the link")
    key = _key(args)
    text = _pasted_token_or_url(args)
    is_url = _looks_like_url(text)
    checks_portal = args.company is not None or args.domain is not None or args.sandbox
    if checks_portal and not is_url:
        args.parser.fail("--company, --domain and --sandbox check a link: give the URL")
    now = time.time()
    options = {"leeway": args.leeway, "now": now, "issuer": args.issuer}
    link: PortalLink | None = None
    try:
        if is_url:
            claims = verify_url(
                text,
                key,
                company=args.company,
                domain=args.domain,
                sandbox=True if args.sandbox else None,
                **options,
            )
            link = parse_url(text)
        else:
            claims = verify_token(text, key, **options)
    except InvalidTokenError as exc:
        return _print_refusal(args, exc, "valid", text, now)
    except MagicLinkError as exc:
        args.parser.fail(str(exc))
    if args.json:
        token = text if link is None else link.token
        header = decode_unverified(token)[0]
        _print_json(_json_report("valid", True, claims, header, link), indent=None)
        return 0
    _print_json(claims)
    for line in _link_and_dates(link, claims, now):
        print(line, file=sys.stderr)
    return 0


def _print_refusal(
    args: Any, error: InvalidTokenError, outcome: str, text: str, now: float
) -> int:
    """Say why a token or link was refused; *outcome* names the --json member
    ("valid" for verify, "verified" for inspect) that is false."""
    if args.json:
        kind = type(error).__name__
        _print_json({outcome: False, "error": kind, "reason": str(error)}, indent=None)
        return 1
    reason = str(error)
    if isinstance(error, ExpiredTokenError):  # the signature has passed
        token = parse_url(text).token if _looks_like_url(text) else text
        exp = decode_unverified(token)[1]["exp"]
        reason += " (" + _describe_time(exp, now) + ")"
    if isinstance(error, InvalidLinkError):
        what = "invalid link"
    else:
        what = "invalid token" if outcome == "valid" else "malformed token"
    print(f"{what}: {reason}", file=sys.stderr)
    return 1


# -- inspect --------------------------------------------------------------------


def _add_inspect_arguments(command: _Parser) -> None:
    _add_token_or_url(command)
    _add_json(command)


def _run_inspect(args: Any) -> int:
    text = _pasted_token_or_url(args)
    try:
        link = parse_url(text) if _looks_like_url(text) else None
        header, claims = decode_unverified(text if link is None else link.token)
    except InvalidTokenError as exc:
        return _print_refusal(args, exc, "verified", text, 0)
    if args.json:
        _print_json(_json_report("verified", False, claims, header, link), indent=None)
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
    elif _shown_time(claims["exp"]) is None:
        print("expires: exp claim is not a UNIX time (verify refuses such a token)")
    return 0


# -- arguments the commands share -------------------------------------------------


def _add_customer_id(command: _Parser) -> None:
    command.add_argument(
        "customer_id",
        metavar="CUSTOMER_ID",
        help="the customer's numeric Invoiced id (not its customer number)",
    )


def _add_portal_options(command: _Parser) -> None:
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


def _add_token_options(command: _Parser) -> None:
    command.add_argument(
        "--ttl",
        metavar="TIME",
        type=_ttl_argument,
        default=3600,
        help="lifetime: seconds, or a number with a unit: 90s, 30m, 12h, 7d "
        "(default 3600, at least 1 second)",
    )
    command.add_argument(
        "--issuer",
        metavar="NAME",
        default=DEFAULT_ISSUER,
        help="iss claim (default %(default)s)",
    )


def _add_key_file(command: _Parser) -> None:
    command.add_argument(
        "--key-file",
        metavar="PATH",
        help="read the key from PATH ('-' for standard input): a regular file of "
        "at most 4 KiB, one trailing newline allowed",
    )


def _add_token_or_url(command: _Parser) -> None:
    command.add_argument(
        "token",
        metavar="TOKEN_OR_URL",
        help="a token or a whole portal URL, as pasted from an e-mail ('-' reads "
        "standard input)",
    )


def _add_json(command: _Parser) -> None:
    command.add_argument(
        "--json", action="store_true", help="print one JSON object, for scripts"
    )


_TTL_FORMS = "give seconds (3600) or a number with a unit: 90s, 30m, 12h, 7d"
_SECONDS_IN = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _ttl_argument(text: str) -> float:
    """--ttl's seconds: 3600, 90s, 30m, 12h or 7d (portal links for
    statements often live for weeks)."""
    written = re.fullmatch(r"([+-]?[0-9]+(?:[.][0-9]+)?) ?([smhd]?)", text.strip())
    if written is None:
        raise argparse.ArgumentTypeError(_TTL_FORMS)
    seconds = float(written[1]) * _SECONDS_IN[written[2]]
    return int(seconds) if seconds.is_integer() else seconds


# -- links pasted from e-mails and chats ----------------------------------------------

_MAX_PASTED_SIZE = 65536
_AROUND = {
    "<": ">",
    "(": ")",
    '"': '"',
    "'": "'",
    "\u201c": "\u201d",
    "\u2018": "\u2019",
}
_AROUND_NAMES = {"<": "angle brackets", "(": "parentheses"}  # quotes otherwise
_AFTER = ".,;:!?"


def _pasted_token_or_url(args: Any) -> str:
    """The token or link as given ('-': standard input), taken out of what
    an e-mail or a chat put around and inside it; what was taken off is
    said on standard error, so that the verdict is on the link itself."""
    text = args.token
    if text == "-":
        binary: Any = getattr(sys.stdin, "buffer", None)
        if binary is None:
            args.parser.fail("standard input cannot be read")
        data: bytes = binary.read(_MAX_PASTED_SIZE + 1)
        if len(data) > _MAX_PASTED_SIZE:
            args.parser.fail("standard input holds more than a link or a token")
        text = data.decode("utf-8", "replace")
    cleaned, taken_off = _without_clutter(text)
    if taken_off:
        print(
            f"magiclink {args.command}: took off {', '.join(taken_off)}; "
            "checking what is left",
            file=sys.stderr,
        )
    return cleaned


def _without_clutter(text: str) -> tuple[str, list[str]]:
    """*text* without surrounding brackets, quotes and punctuation, with
    '&amp;' read as '&' and the breaks and spaces of wrapping closed up;
    and what was taken off, in words."""
    taken_off: list[str] = []

    def took(what: str) -> None:
        if what not in taken_off:
            taken_off.append(what)

    text = text.strip()
    while True:
        if len(text) > 1 and _AROUND.get(text[0]) == text[-1]:
            took(_AROUND_NAMES.get(text[0], "quotes") + " around it")
            text = text[1:-1].strip()
        elif text[-1:] and text[-1] in _AFTER:
            took(f"a trailing '{text[-1]}'")
            text = text[:-1].rstrip()
        else:
            break
    if "&amp;" in text:
        took("'&amp;' written for '&'")
        text = text.replace("&amp;", "&")
    if "".join(text.split()) != text:
        took("line breaks or spaces inside it")
        text = "".join(text.split())
    return text, taken_off


def _looks_like_url(text: str) -> bool:
    return "/" in text or ":" in text


# -- the key --------------------------------------------------------------------


_HOW_TO_GIVE_A_KEY = (
    f"set {_KEY_ENV_VAR} or give --key-file PATH ('-' reads standard input)"
)


def _key(args: Any) -> str | bytes:
    """The key from --key-file or the environment; a usage error that says
    what happened if there is none, or if it cannot be a dashboard key."""
    if args.key_file is None:
        key: str | bytes = os.environ.get(_KEY_ENV_VAR, "")
        if _KEY_ENV_VAR not in os.environ:
            args.parser.fail(f"no key: {_KEY_ENV_VAR} is not set; {_HOW_TO_GIVE_A_KEY}")
        if not key:
            args.parser.fail(f"no key: {_KEY_ENV_VAR} is empty; {_HOW_TO_GIVE_A_KEY}")
        if key.strip() != key:
            args.parser.fail(
                f"the key in {_KEY_ENV_VAR} has white space at its start or end"
            )
    else:
        key = _key_file_contents(args)
    if not (len(key) == 63 and key.isascii() and key.isalnum()):
        print(
            "magiclink: warning: the key is not 63 letters and digits, as the "
            "dashboard's Magic Link keys are; links made with a wrong key fail",
            file=sys.stderr,
        )
    return key


def _key_file_contents(args: Any) -> bytes:
    """The key in --key-file, standard input or the prompt, refused with a
    reason that names where it came from, and never shown."""
    if args.key_file != "-":
        data, source = _key_from_file(args), "the key file"
    elif sys.stdin is not None and sys.stdin.isatty():
        data, source = _key_from_prompt(), "the key typed at the prompt"
    else:
        data, source = _key_from_stdin(args), "the key on standard input"
    if len(data) > _MAX_KEY_FILE_SIZE:
        args.parser.fail(f"{source} is larger than 4 KiB")
    if data.endswith(b"\r\n"):
        data = data[:-2]
    elif data.endswith(b"\n"):
        data = data[:-1]
    if not data:
        args.parser.fail("no key: " + _NOTHING_FROM[source])
    if data.startswith(b"\xef\xbb\xbf"):
        args.parser.fail(f"{source} starts with a byte order mark")
    if data != data.strip():
        args.parser.fail(f"{source} has white space at its start or end")
    if data.translate(None, bytes(range(32)) + b"\x7f") != data:
        args.parser.fail(f"{source} has a control character")
    return data


_NOTHING_FROM = {
    "the key file": "the key file is empty",
    "the key typed at the prompt": "nothing was typed at the prompt",
    "the key on standard input": "standard input held no key",
}


def _key_from_file(args: Any) -> bytes:
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer.
        descriptor = os.open(args.key_file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            os.close(descriptor)
            what = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
            args.parser.fail("cannot read the key file: it is " + what)
        with open(descriptor, "rb") as file:
            data: bytes = file.read(_MAX_KEY_FILE_SIZE + 1)
    except OSError as exc:
        args.parser.fail("cannot read the key file: " + _os_reason(exc))
    return data


def _key_from_prompt() -> bytes:
    import getpass  # only for a person at a terminal

    try:  # no echo, as for a password
        typed = getpass.getpass("Magic Link key: ")
    except EOFError:  # Ctrl-D
        typed = ""
    return typed.encode("utf-8", "surrogateescape")


def _key_from_stdin(args: Any) -> bytes:
    binary: Any = getattr(sys.stdin, "buffer", None)
    if binary is None:
        args.parser.fail("cannot read the key from standard input")
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


# -- messages that never show what was typed ----------------------------------------


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


def _message_without_argv(parser: argparse.ArgumentParser, message: str) -> str:
    """argparse's error *message* told again in words of this program's own:
    its argument names, its choices, and fixed phrases (the value argparse
    quotes is never repeated, nor any other part of *message*)."""
    names = {_argument_name(action): action for action in parser._actions}
    required = "the following arguments are required: "
    if message.startswith(required):
        missing = message[len(required) :].split(", ")
        return required + ", ".join(name for name in names if name in missing)
    if message.startswith("one of the arguments ") and message.endswith(" is required"):
        group = message[len("one of the arguments ") : -len(" is required")].split()
        listed = " ".join(name for name in names if name in group)
        return f"one of the arguments {listed} is required"
    for name, action in names.items():
        if message.startswith(f"argument {name}: "):
            problem = message[len(f"argument {name}: ") :]
            return f"argument {name}: " + _problem_without_value(problem, action, names)
    return "the arguments are not valid (not shown: they could hold a key)"


# How argparse's messages about a missing required argument end.
_REQUIRED_ENDINGS = (" is required",) + tuple(
    f": {name}" for name in ("CUSTOMER_ID", "TOKEN_OR_URL", "command")
)


def _argument_name(action: argparse.Action) -> str:
    # As argparse names an argument in its messages.
    return "/".join(action.option_strings) or action.metavar or action.dest  # type: ignore[return-value]


def _problem_without_value(
    problem: str, action: argparse.Action, names: dict[str, argparse.Action]
) -> str:
    if problem.startswith("invalid choice: "):
        choices = ", ".join(repr(choice) for choice in action.choices or ())
        return f"invalid choice: (value not shown) (choose from {choices})"
    if problem.startswith("invalid ") and callable(action.type):
        kind = getattr(action.type, "__name__", "")
        if problem.startswith(f"invalid {kind} value: "):
            return f"invalid {kind} value: (value not shown)"
    if problem.startswith("ignored explicit argument "):
        return "ignored explicit argument (value not shown)"
    if problem in (
        "expected one argument",
        "expected at most one argument",
        _TTL_FORMS,
    ):
        return problem
    for name in names:
        if problem == f"not allowed with argument {name}":
            return problem
    return "invalid value (not shown)"


def _discard_standard_output() -> None:
    # The reader has gone: whatever is still buffered goes to /dev/null, so
    # that the interpreter's own flush at exit has nothing to fail on.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


# -- output -----------------------------------------------------------------------


def _link_and_dates(
    link: PortalLink | None, claims: dict[str, Any], now: float
) -> Iterator[str]:
    """Lines for people: the link's portal, page and language, and the dates."""
    if link is not None:
        page = link.redirect_to or "(portal default)"
        locale = link.locale or "(portal default)"
        yield f"link: {link.host}, page {page}, locale {locale}"
    for name, label in (("exp", "expires"), ("iat", "issued"), ("nbf", "not before")):
        timestamp = _shown_time(claims.get(name))
        if timestamp is not None:
            yield f"{label}: {_describe_time(timestamp, now)}"


def _json_report(
    outcome: str,
    verified: bool,
    claims: dict[str, Any],
    header: dict[str, Any],
    link: PortalLink | None,
) -> dict[str, Any]:
    """The --json object of verify (*outcome* "valid") and inspect ("verified")."""
    exp = _shown_time(claims.get("exp"))
    report: dict[str, Any] = {
        outcome: verified,
        "claims": claims,
        "header": header,
        "expires_at": None if exp is None else _iso_utc(exp),
    }
    if link is not None:
        report["link"] = {
            "host": link.host,
            "redirect_to": link.redirect_to,
            "locale": link.locale,
        }
    return report


def _shown_time(value: object) -> float | None:
    """*value* if it is a date this program can show (a claim read without
    the key may be anything), else None: a JSON number from 1970 to 9999."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    try:
        _utc(value)
    except (OverflowError, ValueError, OSError):
        return None
    return value


def _utc(timestamp: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)


def _describe_time(timestamp: float, now: float) -> str:
    seconds = abs(timestamp - now)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= 2 * size:
            break
    else:
        unit, size = "second", 1
    count = int(seconds // size)
    span = f"{count} {unit}{'' if count == 1 else 's'}"
    relative = f"in {span}" if timestamp > now else f"{span} ago"
    return f"{_utc(timestamp):%Y-%m-%d %H:%M:%S} UTC, {relative}"


def _iso_utc(timestamp: float) -> str:
    return _utc(timestamp).isoformat().replace("+00:00", "Z")


def _print_json(value: dict[str, Any], indent: int | None = 2) -> None:
    # ASCII only, so that no control character in a token reaches a terminal.
    print(json.dumps(value, indent=indent, ensure_ascii=True, allow_nan=False))


_COMMANDS: dict[str, tuple[str, str, Callable[[_Parser], None], Callable[[Any], int]]]
_COMMANDS = {
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
    sys.exit(main())
