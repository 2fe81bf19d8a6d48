"""Where the project is: its root folder and the dbt project inside it."""

from __future__ import annotations

from pathlib import Path

# core/ sits one level below the project root.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
