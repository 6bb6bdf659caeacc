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

Exit status: 0 success; 1 an invalid token or link, or rows ``urls`` refused
or could not read; 2 a usage or input error; 141 when the reader of standard output has
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
import shlex
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
    InvalidAlgorithmError,
    InvalidLinkError,
    InvalidSignatureError,
    InvalidTokenError,
    MagicLinkError,
    MalformedTokenError,
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
  magiclink urls customers.csv --company acme --ttl 90d > links.csv
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
        return _link(args, key, args.customer_id, now)

    return _print_signed(args, make)


def _link(args: Any, key: str | bytes, customer_id: str, now: float) -> str:
    """magic_link with the portal and token options of url or urls."""
    return magic_link(
        key,
        customer_id,
        args.company,
        ttl=_ttl(args),
        sandbox=args.sandbox,
        domain=args.domain,
        redirect_to=args.redirect_to,
        locale=args.locale,
        issuer=args.issuer,
        now=now,
    )


# -- token ----------------------------------------------------------------------


def _add_token_arguments(command: _Parser) -> None:
    _add_customer_id(command)
    _add_token_options(command)
    _add_key_file(command)


def _run_token(args: Any) -> int:
    def make(key: str | bytes, now: float) -> str:
        return generate_token(
            key, args.customer_id, _ttl(args), issuer=args.issuer, now=now
        )

    return _print_signed(args, make)


def _print_signed(args: Any, make: Callable[[str | bytes, float], str]) -> int:
    """Print the URL or token that *make* signs; tell a person when it expires."""
    key = _signing_key(args)
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
#
# A link signs whoever opens it into one customer's portal, so urls never
# guesses which column holds the ids, never writes a row it refused (a mail
# merge would send a blank or a stale link), and always ends with a summary.


def _add_urls_arguments(command: _Parser) -> None:
    command.add_argument(
        "ids",
        metavar="FILE",
        nargs="?",
        help="CSV with a header row (an export), or one customer id a line "
        "(default: standard input)",
    )
    command.add_argument(
        "--id-column",
        metavar="NAME",
        help="the header row's name of the column of Invoiced customer ids; "
        "needed unless exactly one column is named for them, such as "
        "'Invoiced Customer ID'",
    )
    _add_portal_options(command)
    _add_token_options(command)
    _add_key_file(command)


def _run_urls(args: Any) -> int:
    if args.ids in (None, "-") and "-" in (args.key_file or ()):
        args.parser.fail("standard input cannot hold both the key and the ids")
    key = _signing_key(args)
    now = time.time()  # one clock reading: every link expires at the same moment

    def link_for(customer_id: str) -> str:
        return _link(args, key, customer_id, now)

    try:  # every argument checked before a row is read: a link for id 1
        expires = _expiry_of(link_for("1"))
    except MagicLinkError as exc:
        args.parser.fail(str(exc))
    source = _open_ids(args)
    try:
        layout = _input_layout(args, source.readline())
        tally = _write_links(args, source, layout, link_for, _iso_utc(expires))
    finally:
        if source.buffer is getattr(sys.stdin, "buffer", None):
            source.detach()  # standard input stays open
        else:
            source.close()
    sys.stdout.flush()  # the links are out (or the reader has gone) before the summary
    print(_summary(tally, expires, now, args.ttl is not None), file=sys.stderr)
    return 1 if tally.refused or tally.unread else 0


def _open_ids(args: Any) -> io.TextIOWrapper:
    """The ids as text: UTF-8 (a byte order mark is kept for _input_layout
    to see), bytes that are not UTF-8 kept for _row_problem to find."""
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
        binary, encoding="utf-8", errors="surrogateescape", newline=""
    )


class _Layout(NamedTuple):
    first_line: str  # without a byte order mark
    names: list[str] | None  # the header row's, or None: one id a line
    id_column: int
    kept: list[int]  # the columns written again: all but url and expires_at
    delimiter: str
    line_end: str  # "\r\n" or "\n", as the input's first line ends
    bom: bool  # whether the input started with a byte order mark


# How a column of Invoiced customer ids is named in exports and CRMs, in
# words: "Invoiced Customer ID", "invoiced_customer_id", Salesforce's
# "Invoiced_Customer_ID__c".  A name that could be another system's id
# ("id", "Customer ID") is not enough: it must be named with --id-column.
_INVOICED_ID_NAMES = (("invoiced", "customer", "id"), ("invoiced", "id"))
_OUTPUT_COLUMNS = (("url",), ("expires", "at"))  # what urls itself adds


def _name_words(name: str) -> tuple[str, ...]:
    # "InvoicedCustomerId", "Invoiced_Customer_ID__c" and "invoiced customer
    # id" are the same words.
    name = re.sub(r"__c\s*$", "", name.strip())
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return tuple(re.findall(r"[a-z0-9]+", name.casefold()))


def _input_layout(args: Any, first_line: str) -> _Layout:
    """How the input is laid out, from its first line: a header row and the
    column of ids, or one id a line.  Anything that would need a guess is a
    usage error that says how to be explicit."""
    bom = first_line.startswith("\ufeff")
    first_line = first_line.removeprefix("\ufeff")
    line_end = "\r\n" if first_line.endswith("\r\n") else "\n"
    delimiter = max(",;\t", key=first_line.count)  # Excel in many locales writes ;
    try:
        names = next(csv.reader([first_line], delimiter=delimiter, strict=True), [])
    except csv.Error:
        names = [first_line.strip()]  # not CSV: a line of its own
    # A header row has no number in it; one of a single field, no digit
    # ("CUST-0001" starts a list of customer numbers, not a header).
    header = any(name.strip() for name in names) and not any(
        re.fullmatch(_NUMBER, name) for name in names
    )
    if len(names) == 1 and re.search(r"[0-9]", names[0]):
        header = False
    if not header:
        if len(names) > 1:
            args.parser.fail(
                f"the first line holds {len(names)} columns but is not a header "
                "row: give a header row and --id-column NAME, or one id a line"
            )
        if args.id_column is not None:
            args.parser.fail("--id-column needs a header row, and there is none")
        return _Layout(first_line, None, 0, [0], ",", line_end, bom)
    if not _is_utf8("".join(names)):
        args.parser.fail("the header row is not UTF-8 text: save the file as UTF-8")
    column = _id_column(args, names)
    words = [_name_words(name) for name in names]
    kept = [
        n for n in range(len(names)) if words[n] not in _OUTPUT_COLUMNS or n == column
    ]
    return _Layout(first_line, names, column, kept, delimiter, line_end, bom)


def _id_column(args: Any, names: list[str]) -> int:
    """The column of ids: the one --id-column names, or the one column named
    for Invoiced customer ids; anything else is refused with the way out."""
    parser: _Parser = args.parser
    shown = [_shown_name(name) for name in names]
    if args.id_column is not None:
        wanted = args.id_column.strip()
        found = [n for n, name in enumerate(names) if name.strip() == wanted]
        if not found:
            folded = wanted.casefold()
            found = [
                n for n, name in enumerate(names) if name.strip().casefold() == folded
            ]
        if len(found) == 1:
            return found[0]
        if found:
            parser.fail(
                f"{len(found)} columns have the name --id-column gives: rename them "
                "in the file"
            )
        parser.fail(
            "no column has the name --id-column gives; the header row's columns: "
            + ", ".join(shown[:12])
        )
    named = [
        n for n, name in enumerate(names) if _name_words(name) in _INVOICED_ID_NAMES
    ]
    if len(named) == 1:
        return named[0]
    if named:
        listed = [shown[n] for n in named]
        parser.fail(
            f"{len(named)} columns are named for Invoiced customer ids: "
            f"{', '.join(listed)}; say which with --id-column {listed[0]}"
        )
    candidates = [
        shown[n]
        for n, name in enumerate(names)
        if {"id", "ids"} & set(_name_words(name)) or name.strip().lower().endswith("id")
    ]
    if candidates:
        parser.fail(
            "no column is named for Invoiced customer ids, and these could be "
            f"another system's: {', '.join(candidates[:12])}; name the one that "
            f"holds Invoiced ids with --id-column, such as --id-column {candidates[0]}"
        )
    parser.fail(
        "no column is named for Invoiced customer ids (such as 'Invoiced Customer "
        f"ID'); the header row's columns: {', '.join(shown[:12])}; name the one "
        "that holds them with --id-column NAME"
    )


def _shown_name(name: str) -> str:
    """A header name as a shell word, ready to paste after --id-column."""
    return shlex.quote(ascii(name.strip())[1:-1][:40])


# A column whose first rows hold no id at all is the wrong column: the run
# stops there, before anything is written, with one message.
_ROWS_TO_JUDGE = 10


class _Tally(NamedTuple):
    written: int
    refused: int
    refused_lines: list[int]  # where the first 10 refused rows start
    unread: bool  # whether the reader lost the rest of the file


def _write_links(
    args: Any,
    source: io.TextIOWrapper,
    layout: _Layout,
    link_for: Callable[[str], str],
    expires_at: str,
) -> _Tally:
    """Write each good row with its link; report each refused one by its line."""
    writer = csv.writer(
        sys.stdout, delimiter=layout.delimiter, lineterminator=layout.line_end
    )
    header = layout.names if layout.names is not None else ["customer_id"]
    rows = _rows(source, layout)
    judged = list(itertools.islice(rows, _ROWS_TO_JUDGE))
    made = [(row, _link_or_problem(row, layout, link_for)) for row in judged]
    with_ids = [url for row, (url, _) in made if not row.problem]
    if with_ids and not any(with_ids):
        _no_ids(args, layout, len(with_ids))
    try:
        if layout.bom:
            sys.stdout.write("\ufeff")
        writer.writerow([*_kept(header, layout.kept), "url", "expires_at"])
    except UnicodeEncodeError:
        args.parser.fail(_unwritable("the header row"))
    written, refused, unread = 0, 0, False
    refused_lines: list[int] = []
    rest = ((row, _link_or_problem(row, layout, link_for)) for row in rows)
    for row, (url, problem) in itertools.chain(made, rest):
        unread = unread or row.unread
        if not problem:
            try:
                # One write a row, encoded whole before any of it is written.
                writer.writerow([*_kept(row.fields, layout.kept), url, expires_at])
                written += 1
                continue
            except UnicodeEncodeError:
                problem = _unwritable("this row")
        print(f"magiclink urls: {row.lines}: {problem}", file=sys.stderr)
        refused += 1
        if len(refused_lines) < 10:
            refused_lines.append(row.line)
    return _Tally(written, refused, refused_lines, unread)


class _Row(NamedTuple):
    line: int  # where the row starts
    lines: str  # "line 5", or "lines 5-6" for a row with a line break
    fields: list[str]
    problem: str  # why the row cannot be used, or ""
    unread: bool = False  # whether the reader lost the rest of the file here


def _rows(source: io.TextIOWrapper, layout: _Layout) -> Iterator[_Row]:
    """The data rows, blank lines left out (but reported if a row follows
    them), each with the line it starts on and why it cannot be used."""
    if layout.names is None:
        texts = itertools.chain([layout.first_line], source)
        reader: Iterator[list[str]] = ([text.strip()] for text in texts)
        numbered = _numbered(reader, first=1)
    else:
        csv_reader = csv.reader(source, delimiter=layout.delimiter, strict=True)
        numbered = _csv_numbered(csv_reader)
    blank: list[int] = []
    for first, last, fields, error in numbered:
        if not error and not "".join(fields).strip():  # an empty line, or ",,"
            blank.append(first)
            continue
        for number in blank:
            yield _Row(number, f"line {number}", [], "the line is empty")
        blank.clear()
        lines = f"line {first}" if first == last else f"lines {first}-{last}"
        if error:
            yield _Row(first, lines, [], error, error == _UNCLOSED)
        else:
            yield _Row(first, lines, fields, _row_problem(fields, layout))


_UNCLOSED = "a quote opened here is never closed: nothing after it could be read"


def _numbered(
    reader: Iterator[list[str]], first: int
) -> Iterator[tuple[int, int, list[str], str]]:
    for line, fields in enumerate(reader, first):
        yield line, line, fields, ""


def _csv_numbered(reader: Any) -> Iterator[tuple[int, int, list[str], str]]:
    """(first line, last line, fields, error) of each row after the header."""
    while True:
        first = reader.line_num + 2  # the header is line 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            last = max(first, reader.line_num + 1)  # 3.10 counts no line for a NUL
            reason = str(error)
            if reason.startswith("unexpected end of data"):
                yield first, last, [], _UNCLOSED
                return
            if reason.startswith("field larger than field limit"):
                message = "a field is longer than the CSV reader allows (131,072)"
            elif "NUL" in reason:  # Python 3.10's reader; later ones read it
                message = "the row has a NUL character"
            else:
                message = "not a well-formed CSV row"
            yield first, last, [], message
        else:
            yield first, reader.line_num + 1, fields, ""


def _row_problem(fields: list[str], layout: _Layout) -> str:
    """Why a well-formed row cannot be used, or "" if it can."""
    if layout.names is not None and len(fields) != len(layout.names):
        return f"{len(fields)} fields where the header has {len(layout.names)}"
    text = "".join(fields)
    if not _is_utf8(text):
        return "not UTF-8 text"
    if "\0" in text:
        return "the row has a NUL character"
    if not fields[layout.id_column].strip():
        return "the id is empty"
    return ""


def _link_or_problem(
    row: _Row, layout: _Layout, link_for: Callable[[str], str]
) -> tuple[str, str]:
    """(url, "") for a row the library makes a link for, or ("", why not)."""
    if row.problem:
        return "", row.problem
    try:
        return link_for(row.fields[layout.id_column].strip()), ""
    except MagicLinkError as exc:  # the id: the library says what is wrong
        return "", str(exc)


def _no_ids(args: Any, layout: _Layout, judged: int) -> NoReturn:
    parser: _Parser = args.parser
    where = "lines" if layout.names is None else "rows"
    if layout.names is None:
        column = "the file"
    else:
        column = f"column {_shown_name(layout.names[layout.id_column])}"
    parser.fail(
        f"{column} holds no Invoiced customer id in its first {judged} {where}: "
        "nothing was written; name the column that holds them with --id-column"
    )


def _is_utf8(text: str) -> bool:
    # Bytes that are not UTF-8 were read as lone surrogates (surrogateescape).
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _kept(fields: list[str], kept: list[int]) -> list[str]:
    return [fields[n] for n in kept]


def _unwritable(what: str) -> str:
    encoding = getattr(sys.stdout, "encoding", None) or "unknown"
    return f"standard output's encoding ({encoding}) cannot write {what}"


# A number as a spreadsheet writes one: no header field looks like this.
_NUMBER = r"\s*[+-]?[0-9]+(?:[.,][0-9]*)?\s*"


def _summary(tally: _Tally, expires: int, now: float, ttl_given: bool) -> str:
    """The one line every run of urls ends with, on standard error."""
    said = [f"{tally.written} link{'' if tally.written == 1 else 's'} written"]
    if tally.refused:
        lines = ", ".join(str(line) for line in tally.refused_lines)
        more = tally.refused - len(tally.refused_lines)
        lines += f" and {more} more" if more else ""
        plural = "" if tally.refused == 1 else "s"
        said.append(
            f"{tally.refused} row{plural} refused and left out (line{plural} {lines})"
        )
    else:
        said.append("no row refused")
    if tally.unread:
        said.append("the rest of the file could not be read")
    default = "" if ttl_given else " (the default --ttl, 1 hour)"
    said.append(f"the links expire {_describe_time(expires, now)}{default}")
    return "magiclink urls: " + "; ".join(said)


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
    _add_key_file(command, several=True)


def _run_verify(args: Any) -> int:
    if args.token == "-" and "-" in (args.key_file or ()):
        args.parser.fail("standard input cannot hold both the key and the link")
    keys = _keys(args)
    text = _pasted_token_or_url(args)
    is_url = _looks_like_url(text)
    checks_portal = args.company is not None or args.domain is not None or args.sandbox
    if checks_portal and not is_url:
        args.parser.fail("--company, --domain and --sandbox check a link: give the URL")
    now = time.time()
    options = {"leeway": args.leeway, "now": now, "issuer": args.issuer}

    def check(key: str | bytes) -> dict[str, Any]:
        if not is_url:
            return verify_token(text, key, **options)
        return verify_url(
            text,
            key,
            company=args.company,
            domain=args.domain,
            sandbox=True if args.sandbox else None,
            **options,
        )

    try:
        place, claims = _signed_by(keys, check)
    except InvalidTokenError as exc:
        return _print_refusal(args, exc, "valid", text, now)
    except MagicLinkError as exc:
        args.parser.fail(str(exc))
    link = parse_url(text) if is_url else None
    if args.json:
        token = text if link is None else link.token
        header = decode_unverified(token)[0]
        report = _json_report("valid", True, claims, header, link)
        if len(keys) > 1:
            report["key_file"] = place
        _print_json(report, indent=None)
        return 0
    _print_json(claims)
    if len(keys) > 1:
        print(f"signed with: --key-file {place} of {len(keys)}", file=sys.stderr)
    for line in _link_and_dates(link, claims, now):
        print(line, file=sys.stderr)
    return 0


def _signed_by(
    keys: list[str | bytes], check: Callable[[str | bytes], dict[str, Any]]
) -> tuple[int, dict[str, Any]]:
    """*check* with each key in turn, as the library does with a list of keys,
    but knowing which one signed: its place, and the claims.  The library
    checks the signature before any claim, so only InvalidSignatureError
    sends the search on to the next key."""
    for place, key in enumerate(keys[:-1], 1):
        try:
            return place, check(key)
        except InvalidSignatureError:
            continue
    return len(keys), check(keys[-1])


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
    _add_key_file(command, several=True)


def _run_inspect(args: Any) -> int:
    if args.token == "-" and "-" in (args.key_file or ()):
        args.parser.fail("standard input cannot hold both the key and the link")
    keys = _keys(args) if args.key_file else []  # the environment's is not used
    text = _pasted_token_or_url(args)
    try:
        link = parse_url(text) if _looks_like_url(text) else None
        token = text if link is None else link.token
        header, claims = decode_unverified(token)
    except InvalidTokenError as exc:
        return _print_refusal(args, exc, "verified", text, 0)
    place, signature = _signature_checked(token, keys)
    if args.json:
        report = _json_report("verified", place is not None, claims, header, link)
        if place is not None:
            report["key_file"] = place
        _print_json(report, indent=None)
        return 0
    print(signature)
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


def _signature_checked(token: str, keys: list[str | bytes]) -> tuple[int | None, str]:
    """The place of the key file whose key signed *token* (None if none did),
    and a line that says so.  The library checks the form and the header,
    then the signature, then the claims; inspect has read the form and the
    claims already, so a refusal for the claims means the signature passed."""
    if not keys:
        return None, "signature: NOT verified (inspect does not use the key)"
    for place, key in enumerate(keys, 1):
        try:
            verify_token(token, key)
        except InvalidSignatureError:
            continue
        except (MalformedTokenError, InvalidAlgorithmError) as error:
            return None, f"signature: NOT checked: {error}"
        except InvalidTokenError:
            pass  # refused for its claims, which come after the signature
        return place, f"signature: verified with --key-file {place} of {len(keys)}"
    return None, f"signature: does NOT match the key of any --key-file ({len(keys)})"


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
        help="lifetime, a number with a unit: 90s, 30m, 12h, 7d; or seconds, "
        "60 or more (default 1h)",
    )
    command.add_argument(
        "--issuer",
        metavar="NAME",
        default=DEFAULT_ISSUER,
        help="iss claim (default %(default)s)",
    )


def _add_key_file(command: _Parser, several: bool = False) -> None:
    command.add_argument(
        "--key-file",
        metavar="PATH",
        action="append",
        help="read the key from PATH ('-' for standard input): a regular file of "
        "at most 4 KiB, one trailing newline allowed"
        + (
            "; repeat during a key rotation: a token any of them signed passes, "
            "and the one that matched is named by its place"
            if several
            else ""
        ),
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
_BARE_SHORT_TTL = (
    "a bare number under 60 is seconds, which a link is rarely meant to last: "
    "give a unit (90s, 30m, 12h, 7d)"
)
_SECONDS_IN = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DEFAULT_TTL = 3600  # the library's default too: one hour


def _ttl_argument(text: str) -> float:
    """--ttl's seconds: 3600, 90s, 30m, 12h or 7d (portal links for
    statements often live for weeks).  A bare number under 60 is refused:
    "--ttl 7" meant 7 days far more often than 7 seconds."""
    written = re.fullmatch(r"([+-]?[0-9]+(?:[.][0-9]+)?) ?([smhd]?)", text.strip())
    if written is None:
        raise argparse.ArgumentTypeError(_TTL_FORMS)
    seconds = float(written[1]) * _SECONDS_IN[written[2]]
    if not written[2] and 0 <= seconds < 60:
        raise argparse.ArgumentTypeError(_BARE_SHORT_TTL)
    return int(seconds) if seconds.is_integer() else seconds


def _ttl(args: Any) -> float:
    ttl: float = _DEFAULT_TTL if args.ttl is None else args.ttl
    return ttl


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


def _signing_key(args: Any) -> str | bytes:
    """The one key that signs: a link made with the wrong one of two keys
    would fail at the portal, so more than one is refused."""
    if args.key_file is not None and len(args.key_file) > 1:
        args.parser.fail(
            "a link is signed with one key: give --key-file once (verify and "
            "inspect take several)"
        )
    return _keys(args)[0]


def _keys(args: Any) -> list[str | bytes]:
    """The keys from each --key-file in turn, or from the environment; a
    usage error that says what happened if there is none, or if one cannot
    be a dashboard key."""
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
        keys = [key]
    else:
        if args.key_file.count("-") > 1:
            args.parser.fail("standard input can hold one key: give --key-file - once")
        keys = [
            _key_file_contents(args, path, place)
            for place, path in enumerate(args.key_file, 1)
        ]
    if not all(len(key) == 63 and key.isascii() and key.isalnum() for key in keys):
        print(
            "magiclink: warning: the key is not 63 letters and digits, as the "
            "dashboard's Magic Link keys are; links made with a wrong key fail",
            file=sys.stderr,
        )
    return keys


def _key_file_contents(args: Any, path: str, place: int) -> bytes:
    """The key in the file at *path*, standard input or the prompt, refused
    with a reason that names where it came from, and never shown."""
    if path != "-":
        data, source = _key_from_file(args, path), "the key file"
    elif sys.stdin is not None and sys.stdin.isatty():
        data, source = _key_from_prompt(), "the key typed at the prompt"
    else:
        data, source = _key_from_stdin(args), "the key on standard input"
    if len(args.key_file) > 1:
        source += f" (--key-file {place})"
    if len(data) > _MAX_KEY_FILE_SIZE:
        args.parser.fail(f"{source} is larger than 4 KiB")
    if data.endswith(b"\r\n"):
        data = data[:-2]
    elif data.endswith(b"\n"):
        data = data[:-1]
    if not data:
        args.parser.fail("no key: " + _NOTHING_FROM[source.partition(" (")[0]])
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


def _key_from_file(args: Any, path: str) -> bytes:
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
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
        _BARE_SHORT_TTL,
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
    seconds = abs(int(timestamp) - int(now))  # whole seconds, as exp counts them
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= 2 * size or seconds == size:  # "1 hour", "90 minutes"
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
        "magiclink urls export.csv --company acme --id-column id --ttl 90d",
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
