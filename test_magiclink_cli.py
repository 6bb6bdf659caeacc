"""Tests for magiclink_cli.py, the command line.  pytest and the standard
library only; the helpers and known tokens are test_magiclink.py's."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import runpy
import shlex
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

import magiclink
import magiclink_cli
from magiclink import (
    DEFAULT_ISSUER,
    MagicLinkError,
    build_url,
    generate_token,
    magic_link,
    verify_token,
    verify_url,
)
from test_magiclink import (
    CUSTOMER_ID_MISTAKES,
    DOC_CLAIMS,
    DOC_TOKEN,
    DROP,
    HERE,
    HOSTILE_URLS,
    KEY,
    NOW,
    TOKEN,
    claims,
    mutmut_rewrites_the_module,
    needs_a_terminal,
    needs_devices,
    needs_processes,
    sign_claims,
    sign_raw,
    token_in,
)

# -- helpers --------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("INVOICED_MAGIC_LINK_KEY", KEY)

    def run(*argv: str) -> tuple[int, str, str]:
        status = magiclink_cli.main(list(argv))
        out, err = capsys.readouterr()
        assert KEY not in out + err
        return status, out, err

    return run


def strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"not strict JSON: {constant}")

    assert text.count("\n") == 1 and text.endswith("\n")
    return json.loads(text, parse_constant=refuse)


# -- running it: main, python -m, the two files copied, help and version --------


def test_cli_help_at_every_level(cli) -> None:  # type: ignore[no-untyped-def]
    status, out, _ = cli("--help")
    assert status == 0 and "examples:" in out and "INVOICED_MAGIC_LINK_KEY" in out
    for command in ("url", "token", "verify", "inspect"):
        status, out, _ = cli(command, "--help")
        assert status == 0 and "example:" in out and f"magiclink {command}" in out
    status, out, _ = cli("--version")
    assert status == 0 and out.strip() == magiclink.__version__


LIBRARY_ALONE = (
    "magiclink: this file is the library; the command line is magiclink_cli.py\n"
)


def test_python_dash_m_magiclink_says_where_the_command_line_is(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 22: the library never imports its command line, even when the
    # command line is there to import.
    monkeypatch.setenv("INVOICED_MAGIC_LINK_KEY", KEY)
    monkeypatch.setattr(sys, "argv", ["magiclink", "token", "5"])
    with pytest.raises(SystemExit) as caught:
        runpy.run_module("magiclink", run_name="__main__")
    assert caught.value.code == 2
    assert capsys.readouterr() == ("", LIBRARY_ALONE)
    assert (
        "magiclink_cli" not in sys.modules
        or magiclink_cli is sys.modules["magiclink_cli"]
    )


def test_python_dash_m_runs_the_cli_module_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INVOICED_MAGIC_LINK_KEY", KEY)
    monkeypatch.setattr(sys, "argv", ["magiclink_cli", "token", "5"])
    with pytest.raises(SystemExit) as caught:
        runpy.run_module("magiclink_cli", run_name="__main__", alter_sys=True)
    assert caught.value.code == 0
    assert verify_token(capsys.readouterr().out.strip(), KEY)["sub"] == "5"


def run_copied_files(
    directory: Path, script: str, *argv: str
) -> subprocess.CompletedProcess[str]:
    # -S: no site-packages, where an installed magiclink could be found.
    return subprocess.run(
        [sys.executable, "-S", script, *argv],
        check=False,
        cwd=directory,
        env={**os.environ, "INVOICED_MAGIC_LINK_KEY": KEY},
        capture_output=True,
        text=True,
    )


@mutmut_rewrites_the_module
@needs_processes
def test_the_two_files_copied_together_run_as_a_script(tmp_path: Path) -> None:
    shutil.copy(HERE / "magiclink.py", tmp_path / "magiclink.py")
    shutil.copy(HERE / "magiclink_cli.py", tmp_path / "magiclink_cli.py")
    cli = "magiclink_cli.py"
    made = run_copied_files(tmp_path, cli, "url", "1234", "--company", "acme")
    assert made.returncode == 0 and made.stderr == ""
    checked = run_copied_files(tmp_path, cli, "verify", made.stdout.strip())
    assert checked.returncode == 0 and json.loads(checked.stdout)["sub"] == "1234"
    forged = sign_claims(claims(), key="other")
    bad = run_copied_files(tmp_path, cli, "verify", forged)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    usage = run_copied_files(tmp_path, cli)
    assert usage.returncode == 2 and "usage:" in usage.stderr
    assert (
        KEY
        not in made.stdout + made.stderr + checked.stdout + bad.stderr + usage.stderr
    )


@mutmut_rewrites_the_module
@needs_processes
def test_the_library_copied_alone_says_where_the_command_line_is(
    tmp_path: Path,
) -> None:
    shutil.copy(HERE / "magiclink.py", tmp_path / "magiclink.py")
    for argv in (("url", "1234", "--company", "acme"), ()):
        done = run_copied_files(tmp_path, "magiclink.py", *argv)
        assert (done.returncode, done.stdout, done.stderr) == (2, "", LIBRARY_ALONE)


def test_the_library_run_as_a_script_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # In this process, so that coverage sees it.
    with pytest.raises(SystemExit) as caught:
        runpy.run_path(str(HERE / "magiclink.py"), run_name="__main__")
    assert caught.value.code == 2
    assert capsys.readouterr() == ("", LIBRARY_ALONE)


@pytest.mark.parametrize("unbuffered", ["", "1"])
@pytest.mark.parametrize(
    "argv",
    [
        ("inspect", f"https://acme.invoiced.com/login/{DOC_TOKEN}"),
        ("--help",),
        ("urls", "--company", "acme"),
    ],
)
@needs_processes
def test_a_closed_pipe_ends_the_run_quietly(
    argv: tuple[str, ...], unbuffered: str
) -> None:
    env = {**os.environ, "INVOICED_MAGIC_LINK_KEY": KEY, "PYTHONUNBUFFERED": unbuffered}
    reader, writer = os.pipe()
    os.close(reader)  # as `magiclink ... | head -1` once head has gone
    try:
        done = subprocess.run(
            [sys.executable, "magiclink_cli.py", *argv],
            cwd=HERE,
            env=env,
            input=b"1\n2\n3\n",
            stdout=writer,
            stderr=subprocess.PIPE,
            check=False,
        )
    finally:
        os.close(writer)
    assert done.stderr == b""
    # argparse itself ignores a failed write of the help when unbuffered.
    assert done.returncode == 141 or (argv == ("--help",) and done.returncode == 0)


def test_cli_interrupted_or_without_standard_input(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "stdin", None)
    status, out, err = cli("urls", "--company", "acme")
    assert (status, out) == (2, "") and "standard input cannot be read" in err

    def interrupted(*args: object, **kwargs: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(magiclink_cli, "generate_token", interrupted)
    assert cli("token", "5") == (130, "", "")


# -- url and token --------------------------------------------------------------


def test_cli_url(cli) -> None:  # type: ignore[no-untyped-def]
    status, out, err = cli(
        "url",
        "1234",
        "--company",
        "Acme",
        "--redirect-to",
        "invoices",
        "--ttl",
        "90",
        "--issuer",
        "support",
    )
    assert status == 0 and err == ""
    assert out.startswith("https://acme.invoiced.com/login/eyJ") and out.endswith(
        "?redirect_to=invoices\n"
    )
    found = verify_token(token_in(out), KEY)
    assert found["sub"] == "1234" and found["iss"] == "support"
    assert 0 < found["exp"] - magiclink.time.time() <= 90


def test_cli_url_sandbox_and_domain(cli) -> None:  # type: ignore[no-untyped-def]
    status, out, _ = cli("url", "9", "--company", "acme", "--sandbox")
    assert status == 0 and out.startswith("https://acme.sandbox.invoiced.com/login/")
    assert verify_token(token_in(out), KEY)["sub"] == "9"
    status, out, _ = cli("url", "5", "--domain", "billing.example.com")
    assert status == 0 and out.startswith("https://billing.example.com/login/")


def test_cli_url_takes_a_locale(cli) -> None:  # type: ignore[no-untyped-def]
    status, out, _ = cli(
        "url", "12", "--company", "acme", "--redirect-to", "pay", "--locale", "fr_CA"
    )
    assert status == 0 and out.endswith("?redirect_to=pay&locale=fr_CA\n")
    status, out, err = cli("url", "12", "--company", "acme", "--locale", "french")
    assert status == 2 and out == "" and "locale must be a language code" in err


def test_cli_token(cli) -> None:  # type: ignore[no-untyped-def]
    status, out, err = cli("token", "42", "--ttl", "300")
    assert status == 0 and err == "" and out.count("\n") == 1
    found = verify_token(out.strip(), KEY)
    assert found["sub"] == "42" and found["iss"] == DEFAULT_ISSUER


def test_cli_customer_ids(cli) -> None:  # type: ignore[no-untyped-def]
    status, out, _ = cli("token", "1234")
    assert status == 0 and verify_token(out.strip(), KEY)["sub"] == "1234"
    for refused, message in CUSTOMER_ID_MISTAKES:
        if isinstance(refused, str):
            status, out, err = cli("token", refused)
            assert (status, out) == (2, "")
            assert err.endswith(f"error: {message}\n"), (refused, err)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "required"),
        (("frobnicate",), "invalid choice"),
        (("url", "1"), "required"),
        (("url", "1", "--company", "evil.com/"), "company"),
        (("url", "1", "--company", "a", "--domain", "b.com"), "not allowed"),
        (("url", "1", "--domain", "b.example.com", "--sandbox"), "sandbox"),
        (("url", "1", "--company", "acme", "--redirect-to", "admin"), "invoices"),
        (("url", "1", "--company", "acme", "--ttl", "soon"), "ttl"),
        (("token", "1", "--ttl", "0"), "ttl"),
        (("token", "1", "--ttl", "nan"), "ttl"),
        (("token", "1", "--ttl", "-5"), "ttl"),
        (("token", "0"), "customer_id"),
        (("token", "1", "--issuer", ""), "issuer"),
        (("verify", DOC_TOKEN, "--leeway", "-1"), "leeway"),
        (("verify",), "required"),
        (("inspect",), "required"),
    ],
)
def test_cli_usage_errors_exit_2(cli, argv: tuple[str, ...], message: str) -> None:  # type: ignore[no-untyped-def]
    status, out, err = cli(*argv)
    assert status == 2 and out == ""
    usage, _, error = err.partition(": error: ")
    assert usage.startswith("usage: magiclink") and message in error


@needs_a_terminal
def test_cli_tells_a_terminal_when_the_link_expires(tmp_path: Path) -> None:
    main, secondary = os.openpty()
    env = {**os.environ, "INVOICED_MAGIC_LINK_KEY": KEY}
    for argv in (
        ("url", "5", "--company", "acme", "--ttl", "600"),
        ("token", "5", "--ttl", "600"),
    ):
        done = subprocess.run(
            [sys.executable, "magiclink_cli.py", *argv],
            cwd=HERE,
            env=env,
            stdout=subprocess.PIPE,
            stderr=secondary,
            check=True,
        )
        assert done.stdout.count(b"\n") == 1 and b"eyJ" in done.stdout
        told = os.read(main, 1024).decode()
        assert re.fullmatch(
            r"expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, in (9|10) minutes\r\n", told
        )
    os.close(main)
    os.close(secondary)


# -- urls -----------------------------------------------------------------------


def run_urls(
    cli, monkeypatch: pytest.MonkeyPatch, data: bytes, *argv: str
) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    status, out, err = cli("urls", *argv)
    return status, out, err


def rows_of(out: str, delimiter: str = ",") -> list[dict[str, str]]:
    return list(
        csv.DictReader(io.StringIO(out.removeprefix("\ufeff")), delimiter=delimiter)
    )


def summary_of(err: str) -> str:
    """The last line of standard error: the summary every urls run ends with."""
    last = err.splitlines()[-1]
    assert last.startswith("magiclink urls: ") and "links expire" in last.replace(
        "link expire", "links expire"
    )
    return last


def test_cli_urls_from_plain_lines(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    before = magiclink.time.time()
    status, out, err = run_urls(
        cli,
        monkeypatch,
        b"12\n 34 \r\n9223372036854775807\n",
        "--company",
        "acme",
        "--ttl",
        "90d",
        "--redirect-to",
        "invoices",
        "--locale",
        "fr",
    )
    assert status == 0
    assert err.splitlines() == [summary_of(err)]
    assert summary_of(err).startswith(
        "magiclink urls: 3 links written; no row refused; the links expire "
    )
    assert summary_of(err).endswith(", in 90 days")
    assert out.splitlines()[0] == "customer_id,url,expires_at"
    rows = rows_of(out)
    assert [row["customer_id"] for row in rows] == ["12", "34", "9223372036854775807"]
    for row in rows:
        assert row["url"].endswith("?redirect_to=invoices&locale=fr")
        found = verify_url(row["url"], KEY, company="acme")
        assert found["sub"] == row["customer_id"]
        assert row["expires_at"] == magiclink_cli._iso_utc(found["exp"])
    assert len({row["expires_at"] for row in rows}) == 1  # one clock reading
    assert before + 7776000 - 1 <= found["exp"] <= magiclink.time.time() + 7776000


def test_cli_urls_from_an_invoiced_customer_export(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # As Excel saves an export: a byte order mark, CRLF, quoted commas and
    # line breaks.  The output keeps all three, so that it opens as it came.
    export = tmp_path / "customers.csv"
    export.write_bytes(
        "\ufeffname,number,id,email\r\n"
        '"Acme, Inc.",CUST-0001,4501,ap@acme.example\r\n'
        '"Line\r\nBreak Ltd",CUST-0002,4502,x@example.com\r\n'
        "Zoë,CUST-0003,4503,zoe@example.com\r\n".encode()
    )
    status, out, err = cli(
        "urls", str(export), "--domain", "billing.example.com", "--id-column", "id"
    )
    assert status == 0 and err.splitlines() == [summary_of(err)]
    assert out.startswith("\ufeffname,number,id,email,url,expires_at\r\n")
    assert out.count("\r\n") == 5 and "\n" not in out.replace("\r\n", "")
    rows = rows_of(out)
    assert [row["name"] for row in rows] == ["Acme, Inc.", "Line\r\nBreak Ltd", "Zoë"]
    for row in rows:
        found = verify_url(row["url"], KEY, domain="billing.example.com")
        assert found["sub"] == row["id"] and row["number"].startswith("CUST-")


def test_cli_urls_reports_bad_rows_by_line_leaves_them_out_and_goes_on(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    data = (
        b"id,name\n"  # 1
        b"11,a\n"  # 2
        b"CUST-1,b\n"  # 3: a customer number
        b"\n"  # 4: empty
        b'12,"two\nlines"\n'  # 5-6
        b'"13"x,c\n'  # 7: broken quoting
        b"14\n"  # 8: one field short
        b"0012,d\n"  # 9: a leading zero
        b",e\n"  # 10: no id
        b"15,\xff\n"  # 11: not UTF-8
        b"16,f\x00\n"  # 12: a NUL
        b"17,g\n"  # 13
    )
    status, out, err = run_urls(
        cli, monkeypatch, data, "--company", "acme", "--id-column", "id"
    )
    assert status == 1
    # A refused row is left out of the output: no blank or stale link in it.
    assert [row["id"] for row in rows_of(out)] == ["11", "12", "17"]
    *reported, summary = err.splitlines()
    assert [line.split(":")[:2] for line in reported] == [
        ["magiclink urls", f" line {n}"] for n in (3, 4, 7, 8, 9, 10, 11, 12)
    ]
    assert "numeric Invoiced id" in err and "the line is empty" in err
    assert (
        "not a well-formed CSV row" in err and "1 fields where the header has 2" in err
    )
    assert "the id is empty" in err and "not UTF-8 text" in err
    assert "the row has a NUL character" in err
    assert summary.startswith(
        "magiclink urls: 3 links written; 8 rows refused and left out "
        "(lines 3, 4, 7, 8, 9, 10, 11, 12); the links expire "
    )
    assert summary.endswith(", in 1 hour (the default --ttl, 1 hour)")
    status, out, err = run_urls(cli, monkeypatch, b"1\n\nabc\n2\n", "--company", "acme")
    assert status == 1 and [row["customer_id"] for row in rows_of(out)] == ["1", "2"]
    assert err.splitlines()[:2] == [
        "magiclink urls: line 2: the line is empty",
        (
            "magiclink urls: line 3: customer_id must be the customer's numeric "
            "Invoiced id (a positive integer), not its customer number"
        ),
    ]
    assert "2 rows refused and left out (lines 2, 3)" in summary_of(err)


def test_cli_urls_lists_the_first_ten_refused_lines_and_counts_the_rest(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    data = b"1\n" + b"CUST\n" * 25 + b"2\n"
    status, out, err = run_urls(cli, monkeypatch, data, "--company", "acme")
    assert status == 1 and len(rows_of(out)) == 2
    assert (
        "25 rows refused and left out (lines 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 15 more)"
        in summary_of(err)
    )


@pytest.mark.parametrize(
    "name",
    [
        "Invoiced Customer ID",
        "invoiced_customer_id",
        "Invoiced_Customer_ID__c",
        "InvoicedCustomerId",
        " INVOICED-CUSTOMER-ID ",
        "Invoiced ID",
    ],
)
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_cli_urls_takes_the_one_column_named_for_invoiced_ids(
    cli, monkeypatch: pytest.MonkeyPatch, name: str, delimiter: str
) -> None:  # type: ignore[no-untyped-def]
    data = (
        f"Id{delimiter}Name{delimiter}{name}\n"
        f"0015g00000AbCdEAAB{delimiter}Acme{delimiter}41\n"
        f"0015g00000AbCdEAAC{delimiter}Beta{delimiter}42\n"
    ).encode()
    status, out, err = run_urls(cli, monkeypatch, data, "--company", "acme")
    assert status == 0 and err.splitlines() == [summary_of(err)]
    rows = list(csv.reader(io.StringIO(out), delimiter=delimiter))  # as it came
    assert rows[0] == ["Id", "Name", name, "url", "expires_at"]
    assert [verify_url(row[3], KEY)["sub"] for row in rows[1:]] == ["41", "42"]


AMBIGUOUS_HEADERS = [
    # Issue 23: two numeric columns, neither named for Invoiced ids.
    (
        b"ID,Customer ID,Email\n11,4501,a@example.com\n",
        (
            "no column is named for Invoiced customer ids, and these could be another "
            "system's: ID, 'Customer ID'; name the one that holds Invoiced ids with "
            "--id-column, such as --id-column ID"
        ),
    ),
    (
        b"id\n4501\n",
        (
            "no column is named for Invoiced customer ids, and these could be another "
            "system's: id; name the one that holds Invoiced ids with --id-column, such "
            "as --id-column id"
        ),
    ),
    (
        b"Invoiced Customer ID;invoiced_customer_id\n1;2\n",
        (
            "2 columns are named for Invoiced customer ids: 'Invoiced Customer ID', "
            "invoiced_customer_id; say which with --id-column 'Invoiced Customer ID'"
        ),
    ),
    (
        b"Name,E-mail,Number\nAcme,a@example.com,CUST-1\n",
        (
            "no column is named for Invoiced customer ids (such as 'Invoiced Customer "
            "ID'); the header row's columns: Name, E-mail, Number; name the one that "
            "holds them with --id-column NAME"
        ),
    ),
    (
        b"41,Acme\n42,Beta\n",
        (
            "the first line holds 2 columns but is not a header row: give a header row "
            "and --id-column NAME, or one id a line"
        ),
    ),
]


@pytest.mark.parametrize(("data", "message"), AMBIGUOUS_HEADERS)
def test_cli_urls_never_guesses_the_column_of_ids(
    cli, monkeypatch: pytest.MonkeyPatch, data: bytes, message: str
) -> None:  # type: ignore[no-untyped-def]
    status, out, err = run_urls(cli, monkeypatch, data, "--company", "acme")
    assert (status, out) == (2, "")
    assert err.endswith(f"magiclink urls: error: {message}\n")
    assert "line 2" not in err and "4501" not in err  # no cell is repeated


def test_cli_urls_takes_the_column_id_column_names(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    data = b"ID,Customer ID,Email\n11,4501,a@example.com\n12,4502,b@example.com\n"
    for given in ("Customer ID", " customer id "):  # exact, then letter case aside
        status, out, err = run_urls(
            cli, monkeypatch, data, "--company", "acme", "--id-column", given
        )
        assert status == 0
        assert [verify_url(row["url"], KEY)["sub"] for row in rows_of(out)] == [
            "4501",
            "4502",
        ]
    for argv, message in (
        (
            ("--id-column", "Account"),
            (
                "no column has the name --id-column gives; the header row's columns: "
                "ID, 'Customer ID', Email"
            ),
        ),
        (
            ("--id-column", "Email"),
            (
                "column Email holds no Invoiced customer id in its first 2 rows: nothing "
                "was written; name the column that holds them with --id-column"
            ),
        ),
    ):
        status, out, err = run_urls(cli, monkeypatch, data, "--company", "acme", *argv)
        assert (status, out) == (2, "") and err.endswith(f"error: {message}\n")
    twice = b"id,Id\n1,2\n"
    status, out, err = run_urls(
        cli, monkeypatch, twice, "--company", "acme", "--id-column", "ID"
    )
    assert (status, out) == (2, "")
    assert err.endswith(
        "error: 2 columns have the name --id-column gives: rename them in the file\n"
    )
    status, out, err = run_urls(
        cli, monkeypatch, b"41\n", "--company", "acme", "--id-column", "id"
    )
    assert (status, out) == (2, "")
    assert err.endswith("error: --id-column needs a header row, and there is none\n")


def test_cli_urls_stops_early_at_a_column_that_holds_no_ids(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # Issue 23: a Salesforce Id column named by mistake gives one message,
    # not one per row, and nothing is written.
    rows = "".join(f"0015g00000AbC{n:05d},Acme {n}\n" for n in range(10_000))
    data = ("Id,Name\n" + rows).encode()
    status, out, err = run_urls(
        cli, monkeypatch, data, "--company", "acme", "--id-column", "Id"
    )
    assert (status, out) == (2, "")
    assert err.count("\n") == 5  # the usage and the one message
    assert err.endswith(
        "error: column Id holds no Invoiced customer id in its first 10 rows: "
        "nothing was written; name the column that holds them with --id-column\n"
    )
    status, out, err = run_urls(
        cli, monkeypatch, b"CUST-1\nCUST-2\n", "--company", "acme"
    )
    assert (status, out) == (2, "") and "the file holds no Invoiced customer id" in err
    # One good id among the first ten is enough to go on.
    data = b"id,n\n" + b"x,1\n" * 9 + b"7,2\n" + b"y,3\n"
    status, out, err = run_urls(
        cli, monkeypatch, data, "--company", "acme", "--id-column", "id"
    )
    assert status == 1 and [row["id"] for row in rows_of(out)] == ["7"]
    # Rows refused for their shape do not count as the column's.
    data = b"id,n\n1\n2\n3,x\n"
    status, out, err = run_urls(
        cli, monkeypatch, data, "--company", "acme", "--id-column", "id"
    )
    assert status == 1 and [row["id"] for row in rows_of(out)] == ["3"]


def test_cli_urls_forgives_blank_lines_at_the_end_only(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    for data, argv in (
        (b"41\n42\n\n\n", ()),
        (b"41\n42\n \n\t\n", ()),
        (b"id,name\n41,a\n42,b\n\n,\n", ("--id-column", "id")),
    ):
        status, out, err = run_urls(cli, monkeypatch, data, "--company", "acme", *argv)
        assert (status, len(rows_of(out))) == (0, 2)
        assert err.splitlines() == [summary_of(err)]
    status, out, err = run_urls(
        cli, monkeypatch, b"41\n\n\n42\n\n", "--company", "acme"
    )
    assert status == 1 and len(rows_of(out)) == 2
    assert err.splitlines()[:2] == [
        "magiclink urls: line 2: the line is empty",
        "magiclink urls: line 3: the line is empty",
    ]


def test_cli_urls_on_its_own_output_makes_fresh_links(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    status, first, _ = run_urls(cli, monkeypatch, b"41\n42\n", "--company", "acme")
    assert status == 0
    status, second, err = run_urls(
        cli,
        monkeypatch,
        first.encode(),
        "--company",
        "acme",
        "--ttl",
        "7d",
        "--id-column",
        "customer_id",
    )
    assert status == 0 and err.splitlines() == [summary_of(err)]
    assert second.splitlines()[0] == "customer_id,url,expires_at"
    for old, new in zip(rows_of(first), rows_of(second)):
        assert old["customer_id"] == new["customer_id"] and old["url"] != new["url"]
        assert (
            verify_url(new["url"], KEY)["exp"] - verify_url(old["url"], KEY)["exp"]
            > 6 * 86400
        )
    data = b"Name;Invoiced ID;URL;Expires At\nAcme;41;https://old;2020-01-01\n"
    status, out, _ = run_urls(cli, monkeypatch, data, "--company", "acme")
    rows = list(csv.reader(io.StringIO(out), delimiter=";"))
    assert rows[0] == ["Name", "Invoiced ID", "url", "expires_at"]
    assert rows[1][:2] == ["Acme", "41"] and "https://old" not in out


def test_cli_urls_edge_cases(
    cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    status, out, err = run_urls(cli, monkeypatch, b"", "--company", "acme")
    assert (status, out) == (0, "customer_id,url,expires_at\n")
    assert summary_of(err).startswith("magiclink urls: 0 links written; no row refused")
    status, out, err = run_urls(
        cli, monkeypatch, b"id\n", "--company", "acme", "--id-column", "id"
    )
    assert (status, out) == (0, "id,url,expires_at\n")
    # A first line that is not well-formed CSV is no header: plain lines.
    status, out, err = run_urls(cli, monkeypatch, b'"id"x,1\n5\n', "--company", "acme")
    assert status == 1 and [row["customer_id"] for row in rows_of(out)] == ["5"]
    assert err.startswith("magiclink urls: line 1: customer_id must be")
    for argv, reason in (
        ((str(tmp_path / "missing"), "--company", "acme"), "no such file"),
        ((str(tmp_path), "--company", "acme"), "it is a directory"),
        (("--company", "acme", "--ttl", "0.5s"), "ttl"),
        (("--company", "acme", "--locale", "xx-YY"), "locale"),
        (("--company", "acme", "--issuer", ""), "issuer"),
        (("--company", "acme", "--key-file", "-"), "both the key and the ids"),
        (("--domain", "10.0.0.1"), "domain"),
    ):
        status, out, err = run_urls(cli, monkeypatch, b"1\n", *argv)
        assert (status, out) == (2, "") and reason in err, (argv, err)


@needs_devices
def test_cli_urls_refuses_a_device(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    status, out, err = run_urls(
        cli, monkeypatch, b"1\n", "/dev/zero", "--company", "acme"
    )
    assert (status, out) == (2, "")
    assert err.endswith("error: cannot read FILE: it is a device\n")


def test_cli_urls_names_the_standard_input_conflict_before_reading_a_key(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # Issue 23: the ids on standard input are not read as a key first.
    status, out, err = run_urls(
        cli, monkeypatch, b"1001\n1002\n", "--company", "acme", "--key-file", "-"
    )
    assert (status, out) == (2, "")
    assert err.endswith("error: standard input cannot hold both the key and the ids\n")
    assert "control character" not in err


def test_cli_urls_reports_what_the_reader_cannot_follow(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # An unclosed quote swallows the rest of the file: said, by its lines.
    good = b"".join(b"%d,n\n" % (1000 + n) for n in range(1, 51))
    rest = b"".join(b"%d,m\n" % (2000 + n) for n in range(1, 10))
    data = b"id,name\n" + good + b'52,"unclosed\n' + rest
    status, out, err = run_urls(
        cli, monkeypatch, data, "--company", "acme", "--id-column", "id"
    )
    assert status == 1 and len(rows_of(out)) == 50
    assert err.splitlines()[0] == (
        "magiclink urls: lines 52-61: a quote opened here is never closed: "
        "nothing after it could be read"
    )
    assert "; the rest of the file could not be read; " in summary_of(err)
    # A field past the reader's limit is one refused row; the reader goes on.
    data = b"id,name\n1,a\n2," + b"x" * 200_000 + b"\n3,c\n"
    status, out, err = run_urls(
        cli, monkeypatch, data, "--company", "acme", "--id-column", "id"
    )
    assert status == 1 and [row["id"] for row in rows_of(out)] == ["1", "3"]
    assert err.splitlines()[0] == (
        "magiclink urls: line 3: a field is longer than the CSV reader allows (131,072)"
    )


def run_urls_subprocess(
    data: bytes, encoding: str, tmp_path: Path, *argv: str
) -> subprocess.CompletedProcess[bytes]:
    ids = tmp_path / "ids.csv"
    ids.write_bytes(data)
    env = {**os.environ, "INVOICED_MAGIC_LINK_KEY": KEY, "PYTHONIOENCODING": encoding}
    return subprocess.run(
        [
            sys.executable,
            "magiclink_cli.py",
            "urls",
            str(ids),
            "--company",
            "acme",
            "--id-column",
            "id",
            *argv,
        ],
        cwd=HERE,
        env=env,
        capture_output=True,
        check=False,
    )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8:surrogateescape", "cp1252"])
@needs_processes
def test_cli_urls_refuses_a_header_row_that_is_not_utf8(
    tmp_path: Path, encoding: str
) -> None:
    # An Excel export in cp1252 (issue 13): one clear error, whatever the
    # output can hold, and nothing written.
    done = run_urls_subprocess(b"id,Soci\xe9t\xe9\n1,x\n", encoding, tmp_path)
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr.endswith(
        b"magiclink urls: error: the header row is not UTF-8 text: "
        b"save the file as UTF-8\n"
    )
    assert b"Traceback" not in done.stderr


@needs_processes
def test_cli_urls_reports_rows_the_output_cannot_write_and_goes_on(
    tmp_path: Path,
) -> None:
    # A cp1252 standard output (Windows, redirected) has no \u0141: that row
    # is reported by its line and skipped; the rows around it are written.
    data = "id,name\n1,\u0141ukasz\n2,Zo\xeb\n3,x\n".encode()
    done = run_urls_subprocess(data, "cp1252", tmp_path)
    assert done.returncode == 1
    lines = done.stdout.decode("cp1252").splitlines()
    assert [line.split(",")[:2] for line in lines] == [
        ["id", "name"],
        ["2", "Zo\xeb"],
        ["3", "x"],
    ]
    told = "standard output's encoding (cp1252) cannot write this row"
    said = done.stderr.decode().splitlines()
    assert said[0] == f"magiclink urls: line 2: {told}"
    assert "2 links written; 1 row refused and left out (line 2)" in said[1]
    # The same rows with a UTF-8 output: every one written.
    assert run_urls_subprocess(data, "utf-8", tmp_path).stdout.count(b"\n") == 4


@needs_processes
def test_cli_urls_refuses_a_header_row_the_output_cannot_write(
    tmp_path: Path,
) -> None:
    done = run_urls_subprocess("id,Sp\xf3\u0142ka\n1,x\n".encode(), "cp1252", tmp_path)
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr.endswith(
        b"error: standard output's encoding (cp1252) cannot write the header row\n"
    )


# Issue 23's table, each row in a real process with a real file.  (Where the
# row needs no file, the command line alone.)
def run_cli(
    tmp_path: Path, *argv: str, data: bytes | None = None, stdin: bytes = b""
) -> tuple[int, str, str]:
    if data is not None:
        (tmp_path / "export.csv").write_bytes(data)
    done = subprocess.run(
        [sys.executable, "magiclink_cli.py", *argv],
        cwd=HERE,
        env={**os.environ, "INVOICED_MAGIC_LINK_KEY": KEY, "PYTHONIOENCODING": "utf-8"},
        input=stdin,
        capture_output=True,
        check=False,
    )
    out, err = done.stdout.decode(), done.stderr.decode()
    assert KEY not in out + err and "Traceback" not in err
    return done.returncode, out, err


@needs_processes
def test_issue_23_two_numeric_id_columns_are_refused(tmp_path: Path) -> None:
    data = b"ID,Customer ID,Email\r\n11,4501,a@example.com\r\n12,4502,b@example.com\r\n"
    export = str(tmp_path / "export.csv")
    status, out, err = run_cli(tmp_path, "urls", export, "--company", "acme", data=data)
    assert (status, out) == (2, "") and "--id-column ID" in err
    status, out, err = run_cli(
        tmp_path, "urls", export, "--company", "acme", "--id-column", "Customer ID"
    )
    assert status == 0 and out.count("\r\n") == 3
    assert [verify_url(row["url"], KEY)["sub"] for row in rows_of(out)] == [
        "4501",
        "4502",
    ]


@needs_processes
def test_issue_23_a_salesforce_export(tmp_path: Path) -> None:
    rows = "".join(
        f'0015g00000AbC{n:05d},"Acme {n}, Inc.",{4500 + n}\n' for n in range(1, 201)
    )
    data = ("Id,Name,Invoiced_Customer_ID__c\n" + rows).encode()
    export = str(tmp_path / "export.csv")
    status, out, err = run_cli(tmp_path, "urls", export, "--company", "acme", data=data)
    assert status == 0 and len(rows_of(out)) == 200
    assert verify_url(rows_of(out)[-1]["url"], KEY)["sub"] == "4700"
    assert "200 links written; no row refused" in err
    status, out, err = run_cli(
        tmp_path, "urls", export, "--company", "acme", "--id-column", "Id"
    )
    assert (status, out) == (2, "") and err.count("column Id holds no") == 1


@needs_processes
def test_issue_23_a_crm_column_named_invoiced_customer_id(tmp_path: Path) -> None:
    data = b'Contact,Invoiced Customer ID\n"Lee, Ann",4501\n'
    status, out, _err = run_cli(
        tmp_path, "urls", str(tmp_path / "export.csv"), "--company", "acme", data=data
    )
    assert status == 0 and verify_url(rows_of(out)[0]["url"], KEY)["sub"] == "4501"


@needs_processes
def test_issue_23_an_unclosed_quote_is_reported_with_its_lines(tmp_path: Path) -> None:
    lines = [f"{1000 + n},customer {n}" for n in range(1, 1000)]
    lines[50] = '1051,"customer 51'  # line 52, counting the header
    data = ("id,name\n" + "\n".join(lines) + "\n").encode()
    status, out, err = run_cli(
        tmp_path,
        "urls",
        str(tmp_path / "export.csv"),
        "--company",
        "acme",
        "--id-column",
        "id",
        data=data,
    )
    assert status == 1 and len(rows_of(out)) == 50
    assert "lines 52-1000: a quote opened here is never closed" in err
    assert "50 links written; 1 row refused and left out (line 52); the rest" in err


@needs_processes
def test_issue_23_every_run_says_when_its_links_expire(tmp_path: Path) -> None:
    status, _out, err = run_cli(tmp_path, "urls", "--company", "acme", stdin=b"7\n")
    assert status == 0
    assert re.fullmatch(
        r"magiclink urls: 1 link written; no row refused; the links expire "
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, in 1 hour \(the default --ttl, 1 hour\)\n",
        err,
    )


@needs_processes
def test_issue_23_a_bare_ttl_under_a_minute_is_refused(tmp_path: Path) -> None:
    for command in (("urls", "--company", "acme"), ("url", "7", "--company", "x")):
        status, out, err = run_cli(tmp_path, *command, "--ttl", "7", stdin=b"7\n")
        assert (status, out) == (2, "")
        assert err.endswith(
            "error: argument --ttl: a bare number under 60 is seconds, which a link "
            "is rarely meant to last: give a unit (90s, 30m, 12h, 7d)\n"
        )
    status, out, err = run_cli(tmp_path, "token", "7", "--ttl", "7")
    assert status == 2 and "give a unit" in err
    for ttl in ("7s", "60", "7d"):
        assert run_cli(tmp_path, "token", "7", "--ttl", ttl)[0] == 0


@needs_processes
def test_issue_23_the_output_keeps_the_inputs_delimiter_bom_and_line_ends(
    tmp_path: Path,
) -> None:
    data = (
        "\ufeffNom;Invoiced Customer ID;Adresse\r\n"
        '"Société; Générale";4501;"1 rue\r\nParis"\r\n'
        "Zoë;4502;x\r\n"
    ).encode()
    status, out, _err = run_cli(
        tmp_path, "urls", str(tmp_path / "export.csv"), "--company", "acme", data=data
    )
    assert status == 0
    assert out.startswith("\ufeffNom;Invoiced Customer ID;Adresse;url;expires_at\r\n")
    rows = rows_of(out, delimiter=";")
    assert [row["Nom"] for row in rows] == ["Société; Générale", "Zoë"]
    assert rows[0]["Adresse"] == "1 rue\r\nParis"
    assert out.replace("\r\n", "").count("\n") == 0
    plain = tmp_path / "plain.csv"
    plain.write_bytes(b"Name,Invoiced ID\nA,1\n")
    status, out, _ = run_cli(tmp_path, "urls", str(plain), "--company", "acme")
    assert status == 0 and not out.startswith("\ufeff") and "\r" not in out


@needs_processes
def test_issue_23_verify_and_inspect_take_several_key_files(tmp_path: Path) -> None:
    old, new = tmp_path / "old.key", tmp_path / "new.key"
    old.write_text("old" + KEY[3:] + "\n")
    new.write_text(KEY + "\n")
    link = magic_link(KEY, 4501, "acme")
    status, out, err = run_cli(
        tmp_path, "verify", link, "--key-file", str(old), "--key-file", str(new)
    )
    assert status == 0 and json.loads(out)["sub"] == "4501"
    assert "signed with: --key-file 2 of 2" in err
    assert str(new) not in err and str(old) not in err  # by its place alone
    status, out, _ = run_cli(
        tmp_path,
        "verify",
        link,
        "--json",
        "--key-file",
        str(new),
        "--key-file",
        str(old),
    )
    assert status == 0 and json.loads(out)["key_file"] == 1
    status, out, err = run_cli(tmp_path, "verify", link, "--key-file", str(old))
    assert status == 1 and err == "invalid token: signature does not match the key\n"
    status, out, err = run_cli(
        tmp_path, "inspect", link, "--key-file", str(old), "--key-file", str(new)
    )
    assert status == 0 and out.startswith(
        "signature: verified with --key-file 2 of 2\n"
    )
    status, out, _ = run_cli(tmp_path, "inspect", link, "--key-file", str(old))
    assert out.startswith("signature: does NOT match the key of any --key-file (1)\n")
    status, out, _ = run_cli(
        tmp_path,
        "inspect",
        "--json",
        link,
        "--key-file",
        str(old),
        "--key-file",
        str(new),
    )
    report = json.loads(out)
    assert (report["verified"], report["key_file"]) == (True, 2)
    for command in (
        ("url", "1", "--company", "acme"),
        ("token", "1"),
        ("urls", "--company", "acme"),
    ):
        status, out, err = run_cli(
            tmp_path,
            *command,
            "--key-file",
            str(old),
            "--key-file",
            str(new),
            stdin=b"1\n",
        )
        assert (status, out) == (2, "")
        assert err.endswith(
            "error: a link is signed with one key: give --key-file once (verify and "
            "inspect take several)\n"
        )


@needs_processes
def test_issue_23_a_company_given_as_a_url_or_host(tmp_path: Path) -> None:
    for given, said in (
        ("https://acme.invoiced.com", "give the company name alone: acme"),
        ("acme.invoiced.com", "give the company name alone: acme"),
        (
            "acme.sandbox.invoiced.com",
            "give the company name alone: acme, and --sandbox",
        ),
    ):
        status, out, err = run_cli(tmp_path, "url", "4501", "--company", given)
        assert (status, out) == (2, "") and err.endswith(f"error: {said}\n")


@needs_processes
def test_issue_23_verify_names_the_portal_a_link_is_for(tmp_path: Path) -> None:
    link = magic_link(KEY, 4501, "acme")
    status, out, err = run_cli(tmp_path, "verify", link, "--company", "globex")
    assert (status, out) == (1, "")
    assert err == "invalid link: link is for another portal: acme.invoiced.com\n"


@needs_processes
def test_issue_23_urls_names_the_standard_input_conflict(tmp_path: Path) -> None:
    status, out, err = run_cli(
        tmp_path, "urls", "--company", "acme", "--key-file", "-", stdin=b"1001\n1002\n"
    )
    assert (status, out) == (2, "")
    assert err.endswith("error: standard input cannot hold both the key and the ids\n")


def test_issue_23_an_over_long_customer_id_is_refused_at_once(tmp_path: Path) -> None:
    # Measured (not asserted: no timed tests): 13 ms for 20,000,000 digits,
    # against 250-300 ms in 1.2.  What is asserted is that no copy is made.
    huge = "1" * 20_000_000
    tracemalloc.start()
    try:
        with pytest.raises(MagicLinkError) as caught:
            generate_token(KEY, huge)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(caught.value) == "customer_id is larger than any Invoiced id (2**63 - 1)"
    assert peak < 100_000


@needs_processes
def test_cli_urls_streams_in_flat_memory(tmp_path: Path) -> None:
    # Peak memory for 20,000 rows and for 200,000 rows (about 50 MB of CSV
    # written): a run that kept its rows would grow by far more than 8 MiB.
    import resource

    env = {**os.environ, "INVOICED_MAGIC_LINK_KEY": KEY}
    peaks = []
    for count in (20_000, 200_000):
        ids = tmp_path / f"{count}.txt"
        ids.write_text("".join(f"{n}\n" for n in range(1, count + 1)))
        code = (
            "import resource, subprocess, sys\n"
            "subprocess.run([sys.executable, 'magiclink_cli.py', 'urls', sys.argv[1],"
            " '--company', 'acme'], stdout=subprocess.DEVNULL,"
            " stderr=subprocess.DEVNULL, check=True)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, str(ids)],
            cwd=HERE,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        peaks.append(int(done.stdout) * 1024)  # ru_maxrss is in KiB on Linux
    assert peaks[1] - peaks[0] < 8 * 2**20, peaks
    assert resource.RUSAGE_CHILDREN


def test_cli_urls_reads_the_clock_once(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    ticks = iter(range(NOW, NOW + 10_000, 10))  # ten seconds pass at each reading
    monkeypatch.setattr(magiclink.time, "time", lambda: float(next(ticks)))
    status, out, err = run_urls(
        cli, monkeypatch, b"1\n2\n3\n", "--company", "acme", "--issuer", "crm export"
    )
    rows = rows_of(out)
    assert status == 0 and len(rows) == 3
    found = [verify_url(row["url"], KEY, now=NOW) for row in rows]
    assert {claims["exp"] for claims in found} == {NOW + 3600}
    assert {row["expires_at"] for row in rows} == {magiclink_cli._iso_utc(NOW + 3600)}
    assert {claims["iss"] for claims in found} == {"crm export"}
    assert summary_of(err).endswith(", in 1 hour (the default --ttl, 1 hour)")


def test_cli_urls_leaves_standard_input_open(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    stdin = io.TextIOWrapper(io.BytesIO(b"1\n"))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert cli("urls", "--company", "acme")[0] == 0
    assert not stdin.buffer.closed


# -- verify ---------------------------------------------------------------------


def test_cli_verify_success_prints_claims_as_json(cli) -> None:  # type: ignore[no-untyped-def]
    token = generate_token(KEY, 77, 600, issuer="support")
    for given in (
        token,
        f" https://acme.invoiced.com/login/{token}?redirect_to=pay\n",
        f"https://x.example.com/login/{token}",
    ):
        status, out, err = cli(
            "verify", given, "--issuer", "other", "--issuer", "support"
        )
        assert status == 0 and json.loads(out)["sub"] == "77"
        assert re.search(
            r"^expires: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, in (9|10) minutes$",
            err,
            re.MULTILINE,
        )


def test_cli_verify_failures_exit_1_with_one_line(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(magiclink.time, "time", lambda: 1455564948 + 3 * 86400 + 5)
    cases = [
        (
            generate_token(KEY, 1, now=1455564948 - 3600),
            "expired (2016-02-15 19:35:48 UTC, 3 days ago)",
        ),
        (sign_claims(claims(), key="other"), "signature does not match"),
        ("not-a-token", "three non-empty segments"),
        ("https://acme.invoiced.com/portal", "link path must be /login/TOKEN"),
        (sign_claims(claims(), header={"alg": "none"}), "alg must be HS256"),
        (sign_claims(claims(iss="x")), "iss claim"),
    ]
    for given, reason in cases:
        status, out, err = cli(
            "verify", given, "--issuer", "tests", "--issuer", DEFAULT_ISSUER
        )
        assert status == 1 and out == ""
        assert err.startswith(("invalid token: ", "invalid link: "))
        assert reason in err and err.count("\n") == 1


def test_cli_strips_whitespace_around_a_pasted_token(cli) -> None:  # type: ignore[no-untyped-def]
    token = generate_token(KEY, 77, 600)
    for pasted in (f" {token}\n", f"\t{token}\r\n", f"\n\n{token}  "):
        status, out, _ = cli("verify", pasted)
        assert status == 0 and json.loads(out)["sub"] == "77"
        status, out, _ = cli("inspect", pasted)
        assert status == 0 and '"sub": "77"' in out


# The command line strips the white space around what was pasted, and takes a
# bare token as a token.
# What the command line takes off a pasted link (issue 15), so these are no
# longer hostile to it: the test below checks each repair.
REPAIRED = ("empty-query", "tab-in-token", "space-in-token", "space-in-host")
CLI_HOSTILE_URLS = [
    param
    for param in HOSTILE_URLS
    if param.id
    not in ("leading-space", "trailing-space", "newline", "bare-token", *REPAIRED)
]


@pytest.mark.parametrize("url", CLI_HOSTILE_URLS)
def test_cli_refuses_every_hostile_url_with_one_line(cli, url: str) -> None:  # type: ignore[no-untyped-def]
    for command in ("verify", "inspect"):
        status, out, err = cli(command, url)
        assert status in (1, 2) and out == ""
        assert err.count("\n") == 1 or "usage:" in err
        assert "Traceback" not in err and TOKEN[:20] not in err


@pytest.mark.parametrize(
    ("pasted", "said"),
    [
        ("<{}>", "angle brackets around it"),
        ("({})", "parentheses around it"),
        ('"{}"', "quotes around it"),
        ("'{}'", "quotes around it"),
        ("\u201c{}\u201d", "quotes around it"),
        ("{}.", "a trailing '.'"),
        ("{},", "a trailing ','"),
        ("{};", "a trailing ';'"),
        ("{}:", "a trailing ':'"),
        ("{}!", "a trailing '!'"),
        ("{}?", "a trailing '?'"),
        ("(<{}>).", "a trailing '.', parentheses around it, angle brackets around it"),
        ("(({}))", "parentheses around it"),  # each named once
        ("{}..", "a trailing '.'"),
        ("AMP", "'&amp;' written for '&'"),
        ("WRAP", "line breaks or spaces inside it"),
    ],
)
@pytest.mark.parametrize("kind", ["link", "token"])
def test_cli_takes_a_pasted_link_out_of_its_clutter_and_says_so(
    cli, pasted: str, said: str, kind: str
) -> None:  # type: ignore[no-untyped-def]
    link = magic_link(KEY, 7, "acme", redirect_to="pay", locale="fr")
    given = link if kind == "link" else token_in(link)
    if pasted == "AMP":
        if kind == "token":
            return  # a token has no '&'
        text = given.replace("&", "&amp;")
    elif pasted == "WRAP":
        text = given[:40] + "\n" + given[40:90] + "\r\n  " + given[90:]
    else:
        text = pasted.format(given)
    for command in ("verify", "inspect"):
        status, out, err = cli(command, text)
        assert status == 0, err
        lines = err.splitlines()
        assert (
            lines[0] == f"magiclink {command}: took off {said}; checking what is left"
        )
        assert '"sub": "7"' in out


def test_cli_verify_still_refuses_a_bad_link_once_its_clutter_is_off(cli) -> None:  # type: ignore[no-untyped-def]
    forged = magic_link("another key", 7, "acme")
    status, out, err = cli("verify", f"<{forged}>.")
    assert (status, out) == (1, "")
    note = "took off a trailing '.', angle brackets around it; checking what is left"
    assert err.splitlines() == [
        f"magiclink verify: {note}",
        "invalid token: signature does not match the key",
    ]


def test_cli_verify_and_inspect_read_a_dash_from_standard_input(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    link = magic_link(KEY, 8, "acme")
    wrapped = f"  <{link[:50]}\n{link[50:]}>\n".encode()
    for command in ("verify", "inspect"):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(wrapped)))
        status, out, err = cli(command, "-")
        assert status == 0 and '"sub": "8"' in out, err
        assert "angle brackets around it, line breaks or spaces inside it" in err
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"x" * 70000)))
    status, out, err = cli("inspect", "-")
    assert (status, out) == (2, "")
    assert err.endswith("error: standard input holds more than a link or a token\n")
    status, out, err = cli("verify", "-", "--key-file", "-")
    assert (status, out) == (2, "")
    assert err.endswith("error: standard input cannot hold both the key and the link\n")
    monkeypatch.setattr(sys, "stdin", None)
    status, out, err = cli("inspect", "-")
    assert err.endswith("error: standard input cannot be read\n")


@needs_processes
def test_the_forgiving_command_line_in_a_real_process(tmp_path: Path) -> None:
    # Issue 15's behaviours end to end: exit statuses, standard output and
    # standard error as a shell sees them.
    def run(*argv: str, stdin: bytes = b"", key: str = KEY) -> tuple[int, str, str]:
        done = subprocess.run(
            [sys.executable, "magiclink_cli.py", *argv],
            cwd=HERE,
            env={**os.environ, "INVOICED_MAGIC_LINK_KEY": key},
            input=stdin,
            capture_output=True,
            check=False,
        )
        return done.returncode, done.stdout.decode(), done.stderr.decode()

    link = magic_link(KEY, 9, "acme", redirect_to="pay", locale="fr")
    pasted = f"  <{link[:45]}\n{link[45:]}>.\n".replace("&", "&amp;").encode()
    status, out, err = run("verify", "-", "--company", "acme", stdin=pasted)
    assert status == 0 and json.loads(out)["sub"] == "9"
    assert err.splitlines()[0] == (
        "magiclink verify: took off a trailing '.', angle brackets around it, "
        "'&amp;' written for '&', line breaks or spaces inside it; checking what is left"
    )
    status, out, err = run("verify", "-", stdin=pasted.replace(b"login/", b"login/x"))
    assert (status, out) == (1, "") and err.splitlines()[-1].startswith(
        "invalid token:"
    )
    ids = tmp_path / "export.csv"
    ids.write_bytes(b"Name;Invoiced Customer ID\nAcme;41\nBeta;42\n\n\n")
    status, out, err = run("urls", str(ids), "--company", "acme", "--ttl", "7d")
    assert status == 0 and err.endswith(", in 7 days\n") and err.count("\n") == 1
    assert [row["Invoiced Customer ID"] for row in rows_of(out, ";")] == ["41", "42"]
    status, out, err = run("url", "1234", "--compnay", "acme")
    assert (status, out) == (2, "") and "unrecognized arguments: --compnay" in err
    status, out, err = run("token", "0012")
    assert (status, out) == (2, "") and err.endswith(
        "error: customer_id must not start with 0: Invoiced ids have no leading zero\n"
    )
    status, out, err = run("token", "1", key=KEY + " ")
    assert (status, out) == (2, "") and KEY not in err
    assert err.endswith(
        "error: the key in INVOICED_MAGIC_LINK_KEY has white space at its start or end\n"
    )


def test_cli_verify_checks_the_portal_of_a_link(cli) -> None:  # type: ignore[no-untyped-def]
    url = magic_link(KEY, 31, "acme", sandbox=True, redirect_to="pay", locale="de")
    for expected in (("--company", "ACME"), ("--company", "acme", "--sandbox"), ()):
        status, out, err = cli("verify", url, *expected)
        assert status == 0 and json.loads(out)["sub"] == "31"
        assert "link: acme.sandbox.invoiced.com, page pay, locale de\n" in err
    for wrong in (("--company", "other"), ("--domain", "acme.example.com")):
        status, out, err = cli("verify", url, *wrong)
        assert (status, out) == (1, "")
        # Issue 23: the portal the link is for is named (a host is no secret).
        assert err == (
            "invalid link: link is for another portal: acme.sandbox.invoiced.com\n"
        )
    custom = magic_link(KEY, 31, domain="billing.example.com")
    assert cli("verify", custom, "--sandbox")[0] == 1
    status, out, err = cli(
        "verify", url.split("/login/")[1].split("?")[0], "--company", "acme"
    )
    assert (status, out) == (2, "") and "give the URL" in err
    status, out, err = cli("verify", url, "--company", "ev/il")
    assert (status, out) == (2, "") and "company" in err


def test_cli_verify_shows_the_dates_on_standard_error(cli) -> None:  # type: ignore[no-untyped-def]
    now = magiclink.time.time()
    token = sign_claims(
        claims(exp=int(now) + 7200, iat=int(now) - 120, nbf=int(now) - 3 * 86400)
    )
    status, out, err = cli("verify", token)
    assert status == 0 and json.loads(out)["iat"] == int(now) - 120
    lines = err.splitlines()
    assert [line.split(":")[0] for line in lines] == ["expires", "issued", "not before"]
    assert lines[0].endswith("UTC, in 119 minutes") or lines[0].endswith(
        "UTC, in 2 hours"
    )
    assert lines[1].endswith(", 2 minutes ago") and lines[2].endswith(", 3 days ago")


def test_cli_verify_options_and_checks_on_links(cli) -> None:  # type: ignore[no-untyped-def]
    token = sign_claims(claims(exp=1_000_000_000, iss="shop"))
    url = build_url(token, "acme")
    status, out, err = cli("verify", url, "--issuer", "other")
    assert (status, out) == (1, "") and "iss claim is not an accepted issuer" in err
    status, out, err = cli("verify", url)
    assert status == 1 and re.fullmatch(
        r"invalid token: token has expired \(2001-09-09 01:46:40 UTC, \d+ days ago\)\n",
        err,
    )
    status, out, err = cli("verify", token, "--sandbox")
    assert (status, out) == (2, "") and "give the URL" in err
    status, out, err = cli("verify", url, "--frobnicate")
    assert status == 2 and "usage: magiclink verify" in err and "--frobnicate" in err


def test_cli_verify_json(cli) -> None:  # type: ignore[no-untyped-def]
    url = magic_link(KEY, 31, "acme", redirect_to="pay", ttl=600)
    status, out, err = cli("verify", "--json", url)
    report = strict_json(out)
    assert status == 0 and err == ""
    assert set(report) == {"valid", "claims", "header", "expires_at", "link"}
    assert report["valid"] is True and report["claims"]["sub"] == "31"
    assert report["header"] == {"alg": "HS256", "typ": "JWT"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", report["expires_at"])
    assert report["link"] == {
        "host": "acme.invoiced.com",
        "redirect_to": "pay",
        "locale": None,
    }
    status, out, _ = cli("verify", "--json", token_in(url))
    assert status == 0 and "link" not in strict_json(out)
    for refused, error, reason in (
        (sign_claims(claims(exp=1)), "ExpiredTokenError", "token has expired"),
        (
            sign_claims(claims(), key="other"),
            "InvalidSignatureError",
            "signature does not match the key",
        ),
        (
            "https://evil.example:1/login/a.b.c",
            "InvalidLinkError",
            "link must not have a port",
        ),
        ("a.b", "MalformedTokenError", "token must be three non-empty segments"),
    ):
        status, out, err = cli("verify", "--json", refused)
        assert (status, err) == (1, "")
        assert strict_json(out) == {
            "valid": False,
            "error": error,
            "reason": reason,
        }


# -- inspect --------------------------------------------------------------------


def test_cli_inspect_needs_no_key_and_says_it_did_not_verify(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("INVOICED_MAGIC_LINK_KEY")
    monkeypatch.setattr(magiclink.time, "time", lambda: 1455564948 - 90 * 60)
    status, out, err = cli(
        "inspect", f"https://acme.invoiced.com/login/{DOC_TOKEN}?redirect_to=pay"
    )
    assert status == 0 and err == ""
    assert out == (
        "signature: NOT verified (inspect does not use the key)\n"
        "header:\n"
        '{\n  "alg": "HS256",\n  "typ": "JWT"\n}\n'
        "claims:\n"
        '{\n  "sub": "1234567890",\n  "iss": "Ruby Backend",\n  "exp": 1455564948\n}\n'
        "link: acme.invoiced.com, page pay, locale (portal default)\n"
        "expires: 2016-02-15 19:35:48 UTC, in 90 minutes\n"
    )


def test_cli_inspect_odd_and_malformed_tokens(cli) -> None:  # type: ignore[no-untyped-def]
    status, out, _ = cli("inspect", sign_claims(claims(exp=DROP)))
    assert status == 0 and "expires: never" in out
    status, out, _ = cli("inspect", sign_claims(claims(exp="tomorrow")))
    assert status == 0 and "not a UNIX time" in out
    status, out, err = cli("inspect", "abc.def")
    assert status == 1 and out == "" and err.startswith("malformed token:")
    for year_10000 in (253402300800, 10**12):
        status, out, err = cli("inspect", sign_claims(claims(exp=year_10000)))
        assert (status, err) == (0, "") and "not a UNIX time" in out


def test_cli_inspect_names_the_malformed_part(cli) -> None:  # type: ignore[no-untyped-def]
    for header, payload, part in (
        ("{", "{}", "header"),
        ('{"alg":"HS256"}', "{", "payload"),
    ):
        status, out, err = cli("inspect", sign_raw(header, payload))
        assert (status, out) == (1, "")
        assert err == f"malformed token: {part} is not strict JSON\n"


def test_cli_inspect_escapes_what_a_terminal_would_run(cli) -> None:  # type: ignore[no-untyped-def]
    # U+202E reverses the text that follows; U+009B is a C1 control sequence
    # introducer; ESC starts an escape sequence.
    token = sign_claims(
        claims(iss="\u202e\u009b31m\x1b[2J"),
        header={"alg": "HS256", "typ": "JWT", "kid": "é"},
    )
    status, out, _ = cli("inspect", token)
    assert status == 0 and out.isascii()
    assert "\\u202e\\u009b31m\\u001b[2J" in out and "\\u00e9" in out


def test_cli_inspect_json(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("INVOICED_MAGIC_LINK_KEY")
    url = f"https://acme.invoiced.com/login/{DOC_TOKEN}?locale=fr"
    status, out, _ = cli("inspect", "--json", url)
    assert status == 0 and strict_json(out) == {
        "verified": False,
        "claims": DOC_CLAIMS,
        "header": {"alg": "HS256", "typ": "JWT"},
        "expires_at": "2016-02-15T19:35:48Z",
        "link": {"host": "acme.invoiced.com", "redirect_to": None, "locale": "fr"},
    }
    status, out, _ = cli("inspect", "--json", sign_claims(claims(exp="soon")))
    assert status == 0 and strict_json(out)["expires_at"] is None
    for broken, error, reason in (
        ("abc", "MalformedTokenError", "token must be three non-empty segments"),
        (
            "https://acme.invoiced.com/x",
            "InvalidLinkError",
            "link path must be /login/TOKEN",
        ),
    ):
        status, out, err = cli("inspect", "--json", broken)
        assert (status, err) == (1, "")
        assert strict_json(out) == {"verified": False, "error": error, "reason": reason}
    status, out, err = cli("inspect", "https://acme.invoiced.com/x")
    assert (status, out, err) == (
        1,
        "",
        "invalid link: link path must be /login/TOKEN\n",
    )


# -- the key --------------------------------------------------------------------


def test_cli_has_no_option_that_takes_the_key(cli) -> None:  # type: ignore[no-untyped-def]
    for command in ("url", "token", "verify"):
        _, out, _ = cli(command, "--help")
        assert not re.search(r"--key\b(?!-file)", out)
    status, _, err = cli(
        "token", "1", "--key", KEY
    )  # the fixture checks KEY is not echoed
    assert status == 2 and "unrecognized arguments" in err and "--key-file" in err


HOW_TO_GIVE_A_KEY = (
    "set INVOICED_MAGIC_LINK_KEY or give --key-file PATH ('-' reads standard input)"
)


def test_cli_says_why_there_is_no_key(
    cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # 1.1 hid its own '-' as "(value not shown)"; issue 15 asks each case
    # to say what happened.
    def refusal(*argv: str) -> str:
        status, out, err = cli(*argv)
        assert (status, out) == (2, "")
        return err.rpartition(": error: ")[2].rstrip("\n")

    monkeypatch.delenv("INVOICED_MAGIC_LINK_KEY")
    for argv in (
        ("token", "1"),
        ("url", "1", "--company", "acme"),
        ("verify", DOC_TOKEN),
    ):
        assert refusal(*argv) == (
            "no key: INVOICED_MAGIC_LINK_KEY is not set; " + HOW_TO_GIVE_A_KEY
        )
    monkeypatch.setenv("INVOICED_MAGIC_LINK_KEY", "")
    assert refusal("token", "1") == (
        "no key: INVOICED_MAGIC_LINK_KEY is empty; " + HOW_TO_GIVE_A_KEY
    )
    for spaced in (" " + KEY, KEY + "\n", "\t" + KEY + " "):
        monkeypatch.setenv("INVOICED_MAGIC_LINK_KEY", spaced)
        assert refusal("token", "1") == (
            "the key in INVOICED_MAGIC_LINK_KEY has white space at its start or end"
        )
    empty = tmp_path / "empty"
    empty.write_bytes(b"\n")
    assert refusal("token", "1", "--key-file", str(empty)) == (
        "no key: the key file is empty"
    )
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert refusal("token", "1", "--key-file", "-") == (
        "no key: standard input held no key"
    )
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b" k\n")))
    assert refusal("token", "1", "--key-file", "-") == (
        "the key on standard input has white space at its start or end"
    )


def test_cli_unreadable_key_file_is_a_usage_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for path in (tmp_path / "missing", tmp_path):
        status, out, err = cli("token", "1", "--key-file", str(path))
        assert status == 2 and out == "" and "cannot read the key file" in err


def test_cli_key_file_wins_and_loses_one_trailing_newline(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "key"
    for content in (b"file-key\n", b"file-key\r\n", b"file-key"):
        path.write_bytes(content)
        status, out, _ = cli("token", "1", "--key-file", str(path))
        assert status == 0
        assert verify_token(out.strip(), "file-key")["sub"] == "1"


def test_cli_key_from_standard_input(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"stdin-key\n")))
    status, out, _ = cli("url", "8", "--company", "acme", "--key-file", "-")
    assert status == 0 and verify_token(token_in(out), "stdin-key")["sub"] == "8"
    monkeypatch.setattr(sys, "stdin", None)
    status, _, err = cli("token", "8", "--key-file", "-")
    assert status == 2 and "cannot read" in err


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xef\xbb\xbf" + KEY.encode(), "byte order mark"),
        (KEY.encode() + b"\n\n", "white space"),
        (KEY.encode() + b" \n", "white space"),
        (KEY.encode() + b"\t", "white space"),
        (b" " + KEY.encode(), "white space"),
        (KEY.encode() + b"\r", "white space"),
        (KEY[:10].encode() + b"\x00" + KEY[10:].encode(), "control character"),
        (KEY[:10].encode() + b"\x1b" + KEY[10:].encode(), "control character"),
        (KEY.encode() * 66, "larger than 4 KiB"),
        (b"\n", "no key"),
    ],
)
def test_cli_key_file_contents_are_refused_with_a_reason(
    cli, tmp_path: Path, content: bytes, reason: str
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "key"
    path.write_bytes(content)
    status, out, err = cli("token", "1", "--key-file", str(path))
    assert (status, out) == (2, "") and reason in err
    assert KEY[:10] not in err


@needs_devices
def test_cli_key_files_that_cannot_be_read_say_why(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path, reason in (
        (tmp_path / "missing", "no such file"),
        (tmp_path, "it is a directory"),
        (Path("/dev/zero"), "not a regular file"),
        (fifo, "not a regular file"),  # and no waiting for a writer
    ):
        status, out, err = cli("token", "1", "--key-file", str(path))
        assert (status, out) == (2, "") and reason in err, err
    secret = tmp_path / "secret"
    secret.write_bytes(KEY.encode())

    def denied(*args: object) -> int:
        raise PermissionError(13, "Permission denied")

    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    status, out, err = cli("token", "1", "--key-file", str(loop))
    assert (status, out) == (2, "") and "Too many levels of symbolic links" in err
    monkeypatch.setattr(os, "open", denied)
    status, out, err = cli("token", "1", "--key-file", str(secret))
    assert (status, out) == (2, "") and "permission denied" in err


def test_cli_key_file_may_be_a_symlink_and_loses_one_newline(
    cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "mounted-secret"
    link = tmp_path / "key"
    link.symlink_to(target)
    for content in (KEY.encode(), KEY.encode() + b"\n", KEY.encode() + b"\r\n"):
        target.write_bytes(content)
        status, out, err = cli("token", "1", "--key-file", str(link))
        assert (status, err) == (0, "") and verify_token(out.strip(), KEY)["sub"] == "1"


def test_cli_warns_once_about_a_key_unlike_the_dashboards(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    for key in ("short-key", KEY[:-1], KEY + "x", KEY[:-1] + "-", KEY[:-1] + "é"):
        monkeypatch.setenv("INVOICED_MAGIC_LINK_KEY", key)
        status, out, err = cli("token", "1")
        assert status == 0 and verify_token(out.strip(), key)["sub"] == "1"
        assert (
            err.count("\n") == 1
            and "warning: the key is not 63 letters and digits" in err
        )
        assert key not in err


# CPython 3.14 and newer colour argparse's usage and errors at a terminal,
# as they colour tracebacks: magiclink keeps that (it follows NO_COLOR,
# PYTHON_COLORS and TERM=dumb), and the tests read a terminal's text without
# the colours.  None carries what was typed: every message is a fixed phrase.
COLOUR = re.compile(r"\x1b\[[0-9;]*m")
COLOUR_SETTINGS = ("NO_COLOR", "FORCE_COLOR", "PYTHON_COLORS", "TERM")


def type_at_the_key_prompt(typed: bytes, **settings: str) -> tuple[int, str]:
    """Run `magiclink token 5 --key-file -` on a pseudo-terminal, type
    *typed* at its prompt, and return its exit status and all it showed,
    colours left in.  The terminal is an xterm unless *settings* say else."""
    import pty

    env = {
        k: v
        for k, v in os.environ.items()
        if k != "INVOICED_MAGIC_LINK_KEY" and k not in COLOUR_SETTINGS
    }
    env.update({"TERM": "xterm-256color", **settings})
    argv = [sys.executable, "magiclink_cli.py", "token", "5", "--key-file", "-"]
    pid, terminal = pty.fork()
    if pid == 0:  # pragma: no cover (the child, whose terminal is the pty)
        os.chdir(HERE)
        os.execve(sys.executable, argv, env)
    seen = b""
    while b"Magic Link key: " not in seen:
        seen += os.read(terminal, 1024)
    os.write(terminal, typed)
    while True:
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # the child has gone
            break
        if not chunk:
            break
        seen += chunk
    _, status = os.waitpid(pid, 0)
    os.close(terminal)
    return os.waitstatus_to_exitcode(status), seen.decode()


@needs_a_terminal
def test_cli_key_from_a_terminal_is_read_without_echo() -> None:
    status, coloured = type_at_the_key_prompt(KEY.encode() + b"\n")
    text = COLOUR.sub("", coloured)
    assert status == 0
    assert KEY not in text  # not echoed
    token = re.search(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", text)
    assert token and verify_token(token[0], KEY)["sub"] == "5"
    # exp is a whole second: a little under the hour is left
    assert re.search(
        r"expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, in (59 minutes|1 hour)", text
    )
    status, coloured = type_at_the_key_prompt(b"\x04")  # Ctrl-D: nothing typed
    text = COLOUR.sub("", coloured)
    assert status == 2 and "Traceback" not in text
    assert "error: no key: nothing was typed at the prompt" in text
    status, coloured = type_at_the_key_prompt(b" " + KEY.encode() + b"\n")
    text = COLOUR.sub("", coloured)
    assert status == 2 and KEY not in coloured
    assert "the key typed at the prompt has white space at its start or end" in text


@needs_a_terminal
def test_cli_colours_at_a_terminal_carry_no_typed_text_and_can_be_turned_off() -> None:
    typed = b" " + KEY.encode() + b"\n"
    status, coloured = type_at_the_key_prompt(typed)
    assert status == 2
    # What each colour switch is followed by, up to the next: fixed text.
    for span in re.split(r"\x1b\[[0-9;]*m", coloured):
        assert KEY not in span and KEY[:8] not in span
    if sys.version_info >= (3, 15):  # 3.14 colours usage, 3.15 the error too
        assert "\x1b[" in coloured.split("error:")[0]
        assert re.search(r"error:\x1b\[0m \x1b\[[0-9;]*mthe key typed", coloured)
    elif sys.version_info < (3, 14):
        assert "\x1b[" not in coloured
    for settings in ({"NO_COLOR": "1"}, {"PYTHON_COLORS": "0"}, {"TERM": "dumb"}):
        status, text = type_at_the_key_prompt(typed, **settings)
        assert status == 2 and "\x1b[" not in text, settings
        assert "the key typed at the prompt has white space" in text


# -- messages that never show what was typed ------------------------------------


TTL_FORMS = "give seconds (3600) or a number with a unit: 90s, 30m, 12h, 7d"


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("3600", 3600),
        ("90s", 90),
        ("90", 90),
        ("30m", 1800),
        ("12h", 43200),
        ("7d", 604800),
        ("7 d", 604800),
        (" 1.5h ", 5400),
        ("0.5s", 0.5),
        ("60", 60),
    ],
)
def test_cli_ttl_takes_seconds_or_a_number_with_a_unit(
    cli, written: str, seconds: float
) -> None:  # type: ignore[no-untyped-def]
    assert magiclink_cli._ttl_argument(written) == seconds
    before = time.time()
    status, out, err = cli("token", "5", "--ttl", written)
    after = time.time()
    if seconds < 1:
        assert status == 2 and err.endswith("error: ttl must be at least 1 second\n")
    else:
        exp = verify_token(out.strip(), KEY)["exp"]
        assert status == 0 and int(before + seconds) <= exp <= int(after + seconds)


@pytest.mark.parametrize("written", ["7w", "1e3", "inf", "nan", "h", "7dd", "", "1,5h"])
def test_cli_ttl_shows_its_forms_for_anything_else(cli, written: str) -> None:  # type: ignore[no-untyped-def]
    status, out, err = cli("url", "5", "--company", "acme", "--ttl", written)
    assert (status, out) == (2, "")
    assert err.endswith("error: argument --ttl: " + TTL_FORMS + "\n")


def test_cli_names_a_misspelt_option_before_a_missing_one(cli) -> None:  # type: ignore[no-untyped-def]
    for argv in (
        ("url", "1234", "--compnay", "acme"),
        ("url", "--compnay", "acme"),
        ("verify", "--compnay=acme"),
        ("urls", "--domian", "x.example.com"),
    ):
        status, out, err = cli(*argv)
        assert (status, out) == (2, "")
        assert "unrecognized arguments: --" in err and "is required" not in err, err
    # Nothing misspelt: the missing option is named, as before.
    status, _, err = cli("url", "1234")
    assert err.endswith("error: one of the arguments --company --domain is required\n")


def test_cli_names_unknown_options_and_nothing_else(cli) -> None:  # type: ignore[no-untyped-def]
    status, out, err = cli("url", "1234", "--company", "acme", "--sanbox")
    assert (status, out) == (2, "") and "unrecognized arguments: --sanbox;" in err
    status, out, err = cli(
        "url", "1234", "--company", "acme", "--sanbox=yes", KEY, "-x"
    )
    assert (status, out) == (2, "")
    assert (
        "unrecognized arguments: --sanbox, 2 more not shown" in err and "yes" not in err
    )
    status, out, err = cli(
        "token", "1", "--ttl", KEY
    )  # the fixture checks KEY is not shown
    assert status == 2 and err.endswith("error: argument --ttl: " + TTL_FORMS + "\n")
    status, out, err = cli(KEY)
    assert status == 2 and "invalid choice: (value not shown)" in err and "'url'" in err


def test_seeded_random_argument_lists_never_raise_or_show_the_key(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(10)
    good = magic_link(KEY, 7, "acme", redirect_to="pay")
    words = [
        "url",
        "token",
        "urls",
        "verify",
        "inspect",
        "--company",
        "--domain",
        "--sandbox",
        "--redirect-to",
        "--locale",
        "--ttl",
        "--issuer",
        "--key-file",
        "--leeway",
        "--json",
        "--help",
        "-h",
        "--version",
        "--",
        "-",
        "=",
        "1234",
        "0",
        "-1",
        "007",
        "1e400",
        "nan",
        "inf",
        "acme",
        "acme.example.com",
        "127.0.0.1",
        "pay",
        "fr",
        "fr_CA",
        "/dev/zero",
        "/",
        ".",
        "",
        " ",
        "\x00",
        "é",
        "\u202e",
        "\ud800",
        "9" * 5000,
        "x" * 100_000,
        "https://",
        good,
        token_in(good),
        good + "#",
        good.replace("https", "http"),
        DOC_TOKEN,
        "a.b.c",
        "%s",
        "{}",
        "--key",
        KEY,
        "--company=acme",
        "--ttl=-5",
        "-xyz",
    ]
    statuses: dict[int, int] = {}
    for _ in range(1000):
        argv = [rng.choice(words) for _ in range(rng.randrange(0, 7))]
        if rng.random() < 0.7:
            argv.insert(0, rng.choice(["url", "token", "urls", "verify", "inspect"]))
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"12\nx\n")))
        status, _, _ = cli(*argv)  # the fixture checks KEY is not shown
        statuses[status] = statuses.get(status, 0) + 1
    assert set(statuses) == {0, 1, 2}


# Ways of wrapping a pasted secret that fooled 1.1's pattern for argparse's
# quoting (issue 13): Python's repr escapes a quote with a backslash.
WRAPPINGS = [
    "'{}\"",
    "\"{}'",
    "'{}'",
    '"{}"',
    "\\'{}",
    "{}\\",
    "'\\'{}\\''",
    "\"'{}'\"",
    "{}'",
    "'{}",
    '\\"{}',
]
SECRET_SLOTS = [
    ("{}",),
    ("token", "1", "--ttl", "{}"),
    ("token", "1", "--ttl={}"),
    ("verify", "x", "--leeway", "{}"),
    ("verify", "x", "--leeway={}"),
    ("url", "1", "--company", "acme", "--sandbox={}"),
    ("verify", "x", "--sandbox={}"),
    ("-h={}",),
    ("token", "-h={}"),
    ("--version={}",),
    ("inspect", "x", "--json={}"),
    ("url", "{}", "--company", "acme"),
    ("urls", "--company", "acme", "--ttl", "{}"),
]


@pytest.mark.parametrize("seed", range(4))
def test_seeded_secrets_in_quotes_and_backslashes_never_reach_the_output(
    cli, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], seed: int
) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    for _ in range(150):
        secret = "".join(rng.choice(alphabet) for _ in range(63))
        wrapped = rng.choice(WRAPPINGS).format(secret)
        slot = rng.choice(SECRET_SLOTS)
        argv = [word.format(wrapped) for word in slot]
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"12\n")))
        status = magiclink_cli.main(argv)
        out, err = capsys.readouterr()
        assert status in (0, 1, 2), argv
        for shown in (secret, secret[:8], secret[-8:]):
            assert shown not in out + err, (argv, err)


def test_usage_messages_are_told_in_the_programs_own_words(cli) -> None:  # type: ignore[no-untyped-def]
    # Each kind of argparse error, with the value it quotes never shown.
    cases = [
        (
            ("'SECRET\"",),
            (
                "argument command: invalid choice: (value not shown) "
                "(choose from 'url', 'token', 'urls', 'verify', 'inspect')"
            ),
        ),
        (
            ("token", "1", "--ttl", "'SECRET\""),
            "argument --ttl: give seconds (3600) or a number with a unit: 90s, 30m, 12h, 7d",
        ),
        (
            ("verify", "x", "--sandbox='SECRET"),
            "argument --sandbox: ignored explicit argument (value not shown)",
        ),
        (
            ("-h='SECRET",),
            "argument -h/--help: ignored explicit argument (value not shown)",
        ),
        (("url", "1"), "one of the arguments --company --domain is required"),
        (("url",), "the following arguments are required: CUSTOMER_ID"),
        (
            ("url", "1", "--company", "a", "--domain", "b.c"),
            "argument --domain: not allowed with argument --company",
        ),
        (("token", "1", "--ttl"), "argument --ttl: expected one argument"),
        ((), "the following arguments are required: command"),
    ]
    for argv, message in cases:
        status, out, err = cli(*argv)
        assert (status, out) == (2, ""), argv
        assert err.endswith(f"error: {message}\n"), (argv, err)
        assert "SECRET" not in err


def test_a_message_argparse_might_add_is_told_as_not_shown() -> None:
    parser = magiclink_cli._parser()
    told = magiclink_cli._message_without_argv(parser, "something new: 'SECRET'")
    assert told == "the arguments are not valid (not shown: they could hold a key)"
    told = magiclink_cli._message_without_argv(
        parser, "argument --version: odd 'SECRET'"
    )
    assert told == "argument --version: invalid value (not shown)"
    typed = magiclink_cli._Parser()
    typed.add_argument("--ttl", type=float)
    told = magiclink_cli._message_without_argv(typed, "argument --ttl: invalid odd 'S'")
    assert told == "argument --ttl: invalid value (not shown)"


# -- output: dates --------------------------------------------------------------


@pytest.mark.parametrize(
    ("exp", "now", "expected"),
    [
        (1000, 999, "in 1 second"),
        (1000, 1000, "0 seconds ago"),
        (1000, 1119, "119 seconds ago"),
        (1000, 1120, "2 minutes ago"),
        (100_000, 100_000 - 7200, "in 2 hours"),
        (100_000, 100_000 + 7199, "119 minutes ago"),
        (1_000_000, 1_000_000 + 86400 * 2, "2 days ago"),
    ],
)
def test_describe_time(exp: int, now: int, expected: str) -> None:
    assert magiclink_cli._describe_time(exp, now).endswith(", " + expected)


def test_cli_a_company_given_as_a_host_names_the_company_and_the_option(cli) -> None:  # type: ignore[no-untyped-def]
    # Issue 23: the library's words, with the command line's option names.
    for command in (("url", "1"), ("urls",)):
        status, out, err = cli(*command, "--company", "https://acme.invoiced.com")
        assert (status, out) == (2, "")
        assert err.endswith("error: give the company name alone: acme\n")
        status, out, err = cli(*command, "--company", "acme.sandbox.invoiced.com")
        assert (status, out) == (2, "")
        assert err.endswith("error: give the company name alone: acme, and --sandbox\n")
    link = magic_link(KEY, 5, "acme")
    status, out, err = cli("verify", link, "--company", "acme.invoiced.com")
    assert (status, out) == (2, "")
    assert err.endswith("error: give the company name alone: acme\n")


def test_cli_inspect_checks_the_signature_with_key_files(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    key_file = tmp_path / "key.txt"
    key_file.write_text(KEY + "\n")
    given = ("--key-file", str(key_file))
    expired = generate_token(KEY, 5, now=1_000_000_000)  # in 2001
    status, out, _ = cli("inspect", expired, *given)
    # Refused for its claims, which come after the signature: signed by it.
    assert status == 0 and out.startswith(
        "signature: verified with --key-file 1 of 1\n"
    )
    unsigned = sign_raw('{"alg":"none"}', json.dumps(claims()))
    status, out, _ = cli("inspect", unsigned, *given)
    assert out.startswith("signature: NOT checked: alg must be HS256\n")
    forged = sign_claims(claims(), key="attacker")
    status, out, _ = cli("inspect", forged, *given)
    assert out.startswith("signature: does NOT match the key of any --key-file (1)\n")
    status, out, err = cli("inspect", "-", "--key-file", "-")
    assert (status, out) == (2, "")
    assert err.endswith("error: standard input cannot hold both the key and the link\n")


def test_cli_key_files_are_named_by_their_place(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good, empty = tmp_path / "good.key", tmp_path / "empty.key"
    good.write_text(KEY)
    empty.write_text("")
    link = magic_link(KEY, 5, "acme")
    status, out, err = cli(
        "verify", link, "--key-file", str(good), "--key-file", str(empty)
    )
    assert (status, out) == (2, "") and err.endswith(
        "error: no key: the key file is empty\n"
    )
    spaced = tmp_path / "spaced.key"
    spaced.write_text(" " + KEY)
    status, out, err = cli(
        "verify", link, "--key-file", str(good), "--key-file", str(spaced)
    )
    assert (status, out) == (2, "")
    assert err.endswith(
        "error: the key file (--key-file 2) has white space at its start or end\n"
    )
    status, out, err = cli("verify", link, "--key-file", "-", "--key-file", "-")
    assert (status, out) == (2, "")
    assert err.endswith(
        "error: standard input can hold one key: give --key-file - once\n"
    )
    status, out, err = cli(
        "verify", link, "--key-file", str(good), "--key-file", str(good)
    )
    assert status == 0 and "signed with: --key-file 1 of 2" in err


@needs_processes
def test_readme_links_in_bulk_worked_example(tmp_path: Path) -> None:
    # The README's "Links in bulk" example, run as written: its export, its
    # command, and what it says on standard error.
    readme = (HERE / "README.md").read_text("utf-8")
    section = readme.split("## Links in bulk")[1].split("\n## ")[0]
    export, transcript = re.findall(r"```text\n(.*?)```", section, re.DOTALL)
    command, *said = transcript.splitlines()
    assert command.startswith("$ magiclink urls customers.csv ")
    argv = shlex.split(command[len("$ magiclink ") :].split(" > ")[0])
    (tmp_path / "customers.csv").write_bytes(export.replace("\n", "\r\n").encode())
    argv[argv.index("customers.csv")] = str(tmp_path / "customers.csv")
    status, out, err = run_cli(tmp_path, *argv)
    assert status == 1
    written = err.splitlines()
    assert written[0] == said[0]
    date = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
    assert re.fullmatch(
        re.sub(date, "DATE", said[1])
        .replace("DATE", date)
        .replace("(", r"\(")
        .replace(")", r"\)"),
        written[1],
    )
    rows = rows_of(out, ";")
    assert [row["Name"] for row in rows] == ["Acme, Inc.", "Cobalt"]
    assert [verify_url(row["url"], KEY, company="acme")["sub"] for row in rows] == [
        "4501",
        "4503",
    ]
    assert out.count("\r\n") == 3 and out.replace("\r\n", "").count("\n") == 0


def test_cli_urls_says_nul_as_python_3_10s_reader_reports_it(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # CPython 3.10's csv reader raises "line contains NUL"; later ones read
    # the NUL into the field.  Either way the row is refused in the same words.
    real_reader = csv.reader

    class ReaderOf310:
        def __init__(self, source: Any, *dialect: Any, **options: Any) -> None:
            self.rows = real_reader(source, *dialect, **options)
            self.line_num = 0

        def __iter__(self) -> ReaderOf310:
            return self

        def __next__(self) -> list[str]:
            row = next(self.rows)
            self.line_num = self.rows.line_num
            if "\0" in "".join(row):
                raise csv.Error("line contains NUL")
            return row

    monkeypatch.setattr(magiclink_cli.csv, "reader", ReaderOf310)
    data = b"id,name\n1,a\n2,b\x00\n3,c\n"
    status, out, err = run_urls(
        cli, monkeypatch, data, "--company", "acme", "--id-column", "id"
    )
    assert status == 1 and [row["id"] for row in rows_of(out)] == ["1", "3"]
    assert err.splitlines()[0] == "magiclink urls: line 3: the row has a NUL character"
