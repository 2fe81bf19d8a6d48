"""What is wrong with an objectives file: one `Problem` per finding, and the errors that list them.

Separate so the CLI and loaders can catch `ObjectivesFileError` and render problems
without the checker.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    line: int | None  # 1-based
    subject: str | None  # "objective 'win-rate-h1'", "objective #3", "OKR 'sme-market'"
    field: str | None  # "target", "period.start", "milestones[2].value"
    message: str
    column: int | None = None  # 1-based; YAML syntax errors only

    def render(self, path: Path) -> str:
        where = [str(path)]
        if self.line is not None:
            where.append(f"line {self.line}" + (f", column {self.column}" if self.column else ""))
        if self.subject:
            where.append(self.subject)
        if self.field:
            where.append(f"field '{self.field}'")
        return f"{', '.join(where)}: {self.message}"


class ObjectivesFileError(ValueError):
    """The objectives file cannot be used; the message lists every problem found."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"- {p.render(path)}" for p in problems)
        super().__init__(
            f"The objectives file {path} has {len(problems)} problem(s); no objective was "
            f"loaded. Fix them and run again (the shipped objectives.yml shows every field "
            f"with comments; docs/objectives.md has the rules):\n{lines}"
        )


class ObjectivesFileMissingError(ObjectivesFileError):
    """The file does not exist; a caller may accept that for the default path."""
