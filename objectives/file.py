"""Reading and validating `objectives.yml` (DESIGN.md, "Objectives").

The file is parsed with PyYAML's safe loader down to its node tree, so every problem
can say the line it is on; values are then checked field by field and every problem
found is reported at once, each naming the file, the line, the objective (or OKR) and
the field, and saying what is allowed. Nothing downstream runs on a file with a problem.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from objectives.file_checks import FileChecker
from objectives.model import ObjectivesFile
from objectives.problems import ObjectivesFileError, ObjectivesFileMissingError, Problem


def load_objectives_file(path: Path, *, fiscal_year_start: int = 1) -> ObjectivesFile:
    """Parse and validate an objectives file.

    `fiscal_year_start` (1..12) is the fiscal year's first month: quarters start there.
    Raises ObjectivesFileMissingError when the file does not exist, and
    ObjectivesFileError listing every problem otherwise. An empty file, or one with
    `objectives: []`, is valid and holds no objectives.
    """
    path = Path(path)
    if not isinstance(fiscal_year_start, int) or not 1 <= fiscal_year_start <= 12:
        raise ValueError(
            f"fiscal_year_start={fiscal_year_start!r} must be the number of the fiscal "
            "year's first month, 1 (January) to 12"
        )
    if not path.exists():
        raise ObjectivesFileMissingError(
            path,
            [
                Problem(
                    None,
                    None,
                    None,
                    "does not exist: create it (copy the objectives.yml shipped with crm-kpi) "
                    "or point CRM_KPI_OBJECTIVES to your objectives file",
                )
            ],
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ObjectivesFileError(
            path,
            [Problem(None, None, None, f"is not UTF-8 text ({exc.reason} at byte {exc.start})")],
        ) from None
    except OSError as exc:
        raise ObjectivesFileError(
            path, [Problem(None, None, None, f"cannot be read: {exc.strerror or exc}")]
        ) from None

    loader = yaml.SafeLoader(text)
    loader.name = str(path)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = "; ".join(str(p) for p in (exc.context, exc.problem) if p)
        if "'\\t'" in what:
            hint = "indent with spaces, not tabs"
        elif "another document" in what:
            hint = "the file holds one document: remove the second '---' line"
        else:
            hint = "check the indentation and that each 'key: value' pair is on its own line"
        raise ObjectivesFileError(
            path,
            [
                Problem(
                    mark.line + 1 if mark else None,
                    None,
                    None,
                    f"YAML syntax error: {what} ({hint})",
                    column=mark.column + 1 if mark else None,
                )
            ],
        ) from None
    except yaml.YAMLError as exc:
        raise ObjectivesFileError(path, [Problem(None, None, None, f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()

    checker = FileChecker(path, fiscal_year_start, loader)
    result = checker.check_file(root)
    if checker.problems:
        # In file order, so a person fixes them top to bottom.
        problems = sorted(checker.problems, key=lambda p: p.line or 0)
        raise ObjectivesFileError(path, problems)
    return result
