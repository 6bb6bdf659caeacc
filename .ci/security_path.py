"""Measure magiclink.py's security path as a reviewer reads it, and hold it to
issue 22's targets.

The path is generate_token and verify_token and every top-level definition
they reach by name, transitively: functions, classes and constants.  Each is
counted with the comment lines right above it.  The figures: how many
functions, how many lines, and what share of the stretch from the path's
first line to its last the path itself fills.

    python .ci/security_path.py [magiclink.py]
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOTS = ("generate_token", "verify_token")
MAX_FUNCTIONS = 22
MAX_LINES = 420
MIN_SHARE = 0.75
MAX_LIBRARY_LINES = 1100


def top_level(tree: ast.Module) -> dict[str, ast.stmt]:
    names: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    names[target.id] = node
    return names


def reached(definitions: dict[str, ast.stmt]) -> set[str]:
    seen: set[str] = set()
    pending = list(ROOTS)
    while pending:
        name = pending.pop()
        if name in seen or name not in definitions:
            continue
        seen.add(name)
        for node in ast.walk(definitions[name]):
            if isinstance(node, ast.Name) and node.id in definitions:
                pending.append(node.id)
            # A class's bases and an exception raised by name are Names too.
    return seen


def span(node: ast.stmt, lines: list[str]) -> tuple[int, int]:
    """First and last line (1-based) of *node* with the comments above it."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    while first > 1 and lines[first - 2].lstrip().startswith("#"):
        first -= 1
    return first, node.end_lineno or node.lineno


def main(path: str) -> int:
    text = Path(path).read_text("utf-8")
    lines = text.splitlines()
    definitions = top_level(ast.parse(text))
    path_names = reached(definitions)
    spans = {span(definitions[name], lines) for name in path_names}
    covered = {n for first, last in spans for n in range(first, last + 1)}
    first_line, last_line = min(covered), max(covered)
    share = len(covered) / (last_line - first_line + 1)
    functions = sorted(
        name for name in path_names if isinstance(definitions[name], ast.FunctionDef)
    )
    print(f"library: {len(lines)} lines (at most {MAX_LIBRARY_LINES})")
    print(
        f"security path: {len(functions)} functions (at most {MAX_FUNCTIONS}), "
        f"{len(covered)} lines (at most {MAX_LINES}), lines {first_line}-{last_line}, "
        f"{share:.0%} of that stretch (at least {MIN_SHARE:.0%})"
    )
    print("functions:", ", ".join(functions))
    failed = (
        len(lines) > MAX_LIBRARY_LINES
        or len(functions) > MAX_FUNCTIONS
        or len(covered) > MAX_LINES
        or share < MIN_SHARE
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "magiclink.py"))
