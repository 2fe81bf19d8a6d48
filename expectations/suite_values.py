"""Reading one value of a suite file: non-empty text, name lists, schema.table names, and
the `{query: ...}`, `{run_context: ...}` and `{source}` placeholders.

Every reader raises SuiteFileError naming where in the file the value is; the entry,
suite and file parsers of expectations/suites.py build on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from expectations.specs import QueryValues, RunContextValue, SuiteFileError


def fail(origin: str, message: str) -> SuiteFileError:
    return SuiteFileError(f"{origin}: {message}")


def nonempty_text(value: Any, origin: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(origin, f"{what} must be a non-empty text")
    return value.strip()


def name_list(value: Any, origin: str, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise fail(origin, f"{what} must be a list of column names")
    return tuple(value)


def qualified_name(value: Any, origin: str, what: str) -> str:
    text = nonempty_text(value, origin, what)
    if text.count(".") != 1:
        raise fail(origin, f"{what} {text!r} must be written schema.table")
    return text


def placeholders(value: Any, origin: str) -> Any:
    """Turn `{query: ...}` and `{run_context: ...}` mappings into their markers."""
    if isinstance(value, Mapping):
        if set(value) == {"query"}:
            return QueryValues(nonempty_text(value["query"], origin, "query"))
        if set(value) == {"run_context"}:
            return RunContextValue(nonempty_text(value["run_context"], origin, "run_context"))
        return {k: placeholders(v, origin) for k, v in value.items()}
    if isinstance(value, list):
        return [placeholders(v, origin) for v in value]
    return value


def holds_query(value: Any) -> bool:
    if isinstance(value, QueryValues):
        return True
    if isinstance(value, Mapping):
        return any(holds_query(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_query(v) for v in value)
    return False


def dummy(value: Any) -> Any:
    """Placeholders replaced by values of the right shape, to check GX arguments early."""
    if isinstance(value, QueryValues):
        return []
    if isinstance(value, RunContextValue):
        return value.column
    if isinstance(value, Mapping):
        return {k: dummy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [dummy(v) for v in value]
    return value


def substitute(value: Any, source: str | None) -> Any:
    if source is None:
        return value
    if isinstance(value, str):
        return value.replace("{source}", source)
    if isinstance(value, QueryValues):
        return QueryValues(value.sql.replace("{source}", source))
    if isinstance(value, Mapping):
        return {k: substitute(v, source) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, source) for v in value]
    return value
