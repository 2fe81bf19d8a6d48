"""`crm-kpi doctor`: which credentials are set, where they come from, and what is unsafe.

Credentials are named (their environment variable) and located (the variable, or the
secrets file and key), never shown. A problem is a credential in `.dlt/config.toml`, a
secrets file other users of the machine can read, or one git would commit; any problem
makes the command exit 1, so a deployment script can run it first.
"""

from __future__ import annotations

import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from core.credentials import SECRETS, locate, secrets_files, secrets_in_config
from core.redaction import mask

# What an unset credential means, for the ones whose absence is normal.
UNSET_MEANS = {
    "alert_webhook": "not set: alerts go to the log only",
    "pii_salt": "not set: one is generated once per data dir (.pii_salt, mode 600)",
}


@dataclass
class Report:
    credentials: list[tuple[str, str, str, str]] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _credential_rows() -> list[tuple[str, str, str, str]]:
    rows = []
    for secret in SECRETS:
        found = locate(secret)
        if not found:
            where = UNSET_MEANS.get(secret.key, "not set")
        else:
            where = found[0].where
            if len(found) > 1:
                where += " (used; also set in " + "; ".join(f.where for f in found[1:]) + ")"
        rows.append((secret.owner, secret.env, secret.description, where))
    return rows


def _source_rows() -> list[tuple[str, str]]:
    from ingestion.registry import SOURCES, SourceNotConfiguredError, build_source

    rows = []
    for spec in SOURCES.values():
        if not spec.default_enabled:
            continue
        try:
            build_source(spec.name)
        except SourceNotConfiguredError as exc:
            state = "not configured" if "is not configured" in str(exc) else mask(str(exc))
        except Exception as exc:  # noqa: BLE001 - a bad setting: the doctor reports it
            state = f"misconfigured: {mask(str(exc))}"
        else:
            state = "configured: `crm-kpi run` loads it"
        rows.append((spec.name, state))
    return rows


def _ignored_by_git(path: Path) -> bool | None:
    """Whether git ignores `path` (None: not in a git work tree, or no git)."""
    try:
        result = subprocess.run(
            ["git", "-C", str(path.parent), "check-ignore", "-q", path.name],
            capture_output=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return {0: True, 1: False}.get(result.returncode)


def _file_problems(path: Path) -> list[str]:
    if not path.is_file():
        return []
    problems = []
    shown = path.resolve()
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        problems.append(
            f"{shown} can be read by other users of this machine (mode {mode:03o}): "
            f"run `chmod 600 {shown}`."
        )
    if _ignored_by_git(path) is False:
        problems.append(
            f"{shown} is not ignored by git, so a commit could publish it: add it to "
            ".gitignore (and if it was committed, remove it from git and change the "
            "credentials it held)."
        )
    return problems


def examine() -> Report:
    report = Report(credentials=_credential_rows(), sources=_source_rows())
    report.problems.extend(secrets_in_config())
    for path in dict.fromkeys([*secrets_files(), Path(".env")]):
        report.problems.extend(_file_problems(path))
    return report


def run_doctor(out: Console) -> int:
    """Print the report; 1 when there is a problem, else 0."""
    report = examine()

    def line(text: str = "") -> None:
        out.print(escape(text), highlight=False, soft_wrap=True)

    line("Credentials (where each is set; values are never shown):")
    width = max(len(env) for _, env, _, _ in report.credentials)
    for owner, env, what, where in report.credentials:
        line(f"  {env:<{width}}  {where}")
        line(f"  {'':<{width}}  ({owner}: {what})")
    line()
    line("Sources:")
    for name, state in report.sources:
        line(f"  {name:<11} {state}")
    line()
    if not report.problems:
        line("No problem found.")
        return 0
    for problem in report.problems:
        out.print(f"[red]Problem:[/] {escape(problem)}", highlight=False, soft_wrap=True)
    return 1
