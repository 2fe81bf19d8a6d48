"""Running dbt on the build file: the environment, the vars and a parsed manifest.

The manifest depends on which sources are enabled (their staging models are enabled
by the `crm_sources` var), so each set of sources gets its own target folder, parsed
once and reused until a file of the dbt project changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core.children import PARENT_PID_ENV
from core.paths import DBT_PROJECT_DIR
from core.settings import Settings


def dbt_vars(sources: tuple[str, ...]) -> str:
    return json.dumps({"crm_sources": list(sources)})


def target_dir(settings: Settings, sources: tuple[str, ...]) -> Path:
    return settings.dbt_target_dir / "-".join(sorted(sources))


def dbt_env(settings: Settings) -> dict[str, str]:
    """Variables the dbt profile reads; set in this process so dbt subprocesses see them."""
    return {
        PARENT_PID_ENV: str(os.getpid()),
        "CRM_KPI_BUILD_DB": str(settings.build_db),
        "CRM_KPI_DUCKDB_MEMORY_LIMIT": settings.duckdb_memory_limit,
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def dbt_executable() -> str:
    """The dbt of this virtual environment, whatever PATH says: `crm-kpi-dbt`, dbt in a
    process that dies with the run that started it (so a killed run leaves no `dbt
    build` holding build.duckdb), else plain dbt."""
    for name in ("crm-kpi-dbt", "dbt"):
        candidate = Path(sys.executable).with_name(name)
        if candidate.exists():
            return str(candidate)
    return "dbt"


def dbt_command(
    command: list[str], sources: tuple[str, ...], target: Path, log_path: Path
) -> list[str]:
    """The argv of a dbt command on this project for these sources."""
    return [
        dbt_executable(),
        *command,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(target),
        "--log-path",
        str(log_path),
        "--vars",
        dbt_vars(sources),
    ]


def _project_mtime() -> float:
    paths = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "tests", "seeds"):
        root = DBT_PROJECT_DIR / folder
        if root.exists():
            paths.extend(p for p in root.rglob("*") if p.is_file())
    return max(p.stat().st_mtime for p in paths if p.exists())


def prepare_manifest(settings: Settings, sources: tuple[str, ...]) -> Path:
    """The manifest.json for these sources, parsed now if missing or older than the project."""
    target = target_dir(settings, sources)
    manifest = target / "manifest.json"
    if manifest.exists() and manifest.stat().st_mtime >= _project_mtime():
        return manifest
    target.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **dbt_env(settings)}
    result = subprocess.run(
        dbt_command(["parse", "--quiet"], sources, target, target / "logs"),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not manifest.exists():
        raise RuntimeError(
            f"dbt could not parse {DBT_PROJECT_DIR} for sources {', '.join(sources)}:\n"
            f"{result.stdout}{result.stderr}"
        )
    return manifest
