"""What a breach of the files contract is, and the error that lists them.

Apart from the reader because every check (the SQL ones, the CSV line ones, the key ones)
produces `Problem`s, and the source re-exports `ContractError` to its callers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None  # CSV: line in the file (header = 1); Parquet: row number
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"{'row' if self.file.endswith('.parquet') else 'line'} {self.line}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}"


class ContractError(ValueError):
    """The export breaks the files contract; nothing was loaded."""

    def __init__(self, folder: Path, problems: list[Problem], total: int) -> None:
        self.folder = folder
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0))
        self.total = total
        lines = [f"- {p}" for p in self.problems]
        if total > len(problems):
            lines.append(f"- ... and {total - len(problems)} more problems")
        super().__init__(
            f"The CRM export in {folder} breaks the files contract (docs/crm-model.md, "
            f"'The files source'); nothing was loaded from this run. "
            f"{total} problem(s):\n" + "\n".join(lines)
        )
