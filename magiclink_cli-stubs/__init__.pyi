# Type information for a pip-installed magiclink_cli, the command line of
# magiclink (see magiclink-stubs/__init__.pyi for why a stub-only package).
# CI runs mypy's stubtest against the installed module.

__all__ = ["main"]

def main(argv: list[str] | None = None) -> int: ...
