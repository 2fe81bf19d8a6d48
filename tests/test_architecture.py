"""The house rule (docs/architecture.md, "Floors"): every import goes down a floor.

Imports are read with `ast`, so every one counts: at the top of a module, inside a
function, under `if TYPE_CHECKING:`, relative, and `importlib.import_module("...")`.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FLOORS = {
    "core": 0,
    "ingestion": 1,
    "objectives": 1,
    "warehouse": 2,
    "expectations": 2,
    "orchestration": 3,
    "crm_kpi": 4,
}
OUTSIDE = ("bench", "tests")  # may import any floor; no floor imports them
SOURCES = ("demo", "files", "hubspot", "pipedrive", "salesforce")
# What any source may import from ingestion/ besides its own folder.
SHARED_IN_INGESTION = ("ingestion.common", "ingestion.files.contract")
SKIP_PARTS = {".venv", ".git", "dbt_project", "__pycache__", "node_modules"}
SKIP_FOLDERS = ("bench/data", "warehouse/data")
DOC = ROOT / "docs" / "architecture.md"
MAX_LINES = 300
# "path": why it stays longer; each one is listed in docs/architecture.md's "Long modules".
LONG_MODULES: dict[str, str] = {}


def python_files(root: Path) -> list[Path]:
    """Every .py file of the project under `root`, outside virtualenvs and data folders."""
    files = []
    for folder, subfolders, names in os.walk(root):
        here = Path(folder)
        subfolders[:] = [
            name
            for name in subfolders
            if name not in SKIP_PARTS
            and not (here / name).relative_to(root).as_posix().startswith(SKIP_FOLDERS)
        ]
        files.extend(here / name for name in names if name.endswith(".py"))
    return sorted(files)


def module_of(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _dynamic_import(node: ast.Call) -> str | None:
    """The module named by `importlib.import_module("x")`, `import_module("x")` or
    `__import__("x")`, when it is a string literal."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in ("import_module", "__import__") or not node.args:
        return None
    first = node.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return None


def imports_of(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, dotted module) of every import in the file, wherever it stands.

    `from a.b import c` names both `a.b` and `a.b.c` (c may be a module); a relative
    import is resolved against the file's package.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = module_of(path, root)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target:
                found.append((node.lineno, target))
            found.extend(
                (node.lineno, f"{target}.{alias.name}" if target else alias.name)
                for alias in node.names
                if alias.name != "*"
            )
        elif isinstance(node, ast.Call) and (target := _dynamic_import(node)):
            found.append((node.lineno, target))
    return found


def _most_specific(imports: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Per line, the targets no other target of that line extends: `from a import b`
    is reported as `a.b`, not as `a` and `a.b`."""
    return [
        (line, target)
        for line, target in imports
        if not any(l2 == line and t2.startswith(f"{target}.") for l2, t2 in imports)
    ]


def _within(target: str, prefixes: tuple[str, ...]) -> bool:
    return any(target == p or target.startswith(f"{p}.") for p in prefixes)


def _floor_name(package: str) -> str:
    return f"{package} (floor {FLOORS[package]})" if package in FLOORS else f"{package} (outside)"


def violations(root: Path) -> list[str]:
    """Each import from a floor package of a higher floor, of another package on the
    same floor, or of tests/ or bench/."""
    problems = []
    for path in python_files(root):
        importer = module_of(path, root).split(".")[0]
        if importer not in FLOORS:
            continue
        for line, target in _most_specific(imports_of(path, root)):
            imported = target.split(".")[0]
            if imported == importer or imported not in (*FLOORS, *OUTSIDE):
                continue
            if imported in OUTSIDE or FLOORS[imported] >= FLOORS[importer]:
                problems.append(
                    f"{path.relative_to(root)}:{line}: {_floor_name(importer)} imports "
                    f"{target}, of {_floor_name(imported)}"
                )
    return sorted(set(problems))


def cross_source_imports(root: Path) -> list[str]:
    """Each import, in a source's folder, of another source or of the registry that
    lists the sources (what sources share is in SHARED_IN_INGESTION)."""
    problems = []
    for path in python_files(root):
        parts = module_of(path, root).split(".")
        if len(parts) < 2 or parts[0] != "ingestion" or parts[1] not in SOURCES:
            continue
        own = f"ingestion.{parts[1]}"
        for line, target in _most_specific(imports_of(path, root)):
            if not target.startswith("ingestion.") or _within(target, (own, *SHARED_IN_INGESTION)):
                continue
            if target.split(".")[1] in (*SOURCES, "registry"):
                problems.append(f"{path.relative_to(root)}:{line}: {own} imports {target}")
    return sorted(set(problems))


def _explain(problems: list[str], rule: str) -> str:
    return (
        f"{rule} (docs/architecture.md#floors):\n  "
        + "\n  ".join(problems)
        + "\nMove the shared piece down to the lowest floor both need (often core/)."
    )


def test_every_import_goes_down_a_floor() -> None:
    problems = violations(ROOT)
    assert problems == [], _explain(
        problems, "A package imports only its own modules and the floors below it"
    )


def test_a_source_imports_no_other_source() -> None:
    problems = cross_source_imports(ROOT)
    assert problems == [], _explain(
        problems, "A source imports no other source, and not the registry that lists them"
    )


def _write(root: Path, relative: str, text: str = "") -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_a_back_arrow_is_found_wherever_it_hides(tmp_path: Path) -> None:
    for package in (*FLOORS, "ingestion/hubspot", "ingestion/salesforce", "tests"):
        _write(tmp_path, f"{package}/__init__.py")
    _write(tmp_path, "core/lazy.py", "def f():\n    import crm_kpi.cli\n")
    _write(
        tmp_path,
        "warehouse/typing_only.py",
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
        "    from orchestration.runs import RunOutcome\n",
    )
    _write(
        tmp_path,
        "objectives/dynamic.py",
        'import importlib\n\nDB = importlib.import_module("warehouse.db")\n',
    )
    _write(tmp_path, "ingestion/hubspot/rel.py", "from ..salesforce import client\n")
    _write(tmp_path, "ingestion/hubspot/listing.py", "\n\nfrom ingestion import registry\n")
    _write(tmp_path, "expectations/side.py", "from warehouse import queries\n")
    _write(
        tmp_path,
        "orchestration/x.py",
        "try:\n    import tests.utils\nexcept ImportError:\n    pass\n",
    )
    _write(tmp_path, "core/up.py", "class C:\n    from .. import objectives\n")
    _write(
        tmp_path,
        "crm_kpi/ok.py",
        "import core.settings\nimport ingestion.registry\nimport objectives\n"
        "from warehouse import queries\nfrom expectations import runner\n"
        "from orchestration.runs import run_job\nfrom . import app\nimport dlt\n",
    )
    _write(tmp_path, "warehouse/down.py", "from ingestion.files.reader import read_fx_rates_file\n")
    _write(tmp_path, "ingestion/hubspot/own.py", "from ingestion.hubspot import settings\n")
    _write(
        tmp_path, "ingestion/hubspot/shared.py", "from ingestion.files.contract import ENTITIES\n"
    )

    assert violations(tmp_path) == [
        "core/lazy.py:2: core (floor 0) imports crm_kpi.cli, of crm_kpi (floor 4)",
        "core/up.py:2: core (floor 0) imports objectives, of objectives (floor 1)",
        "expectations/side.py:1: expectations (floor 2) imports warehouse.queries, "
        "of warehouse (floor 2)",
        "objectives/dynamic.py:3: objectives (floor 1) imports warehouse.db, "
        "of warehouse (floor 2)",
        "orchestration/x.py:2: orchestration (floor 3) imports tests.utils, of tests (outside)",
        "warehouse/typing_only.py:4: warehouse (floor 2) imports orchestration.runs.RunOutcome, "
        "of orchestration (floor 3)",
    ]
    assert cross_source_imports(tmp_path) == [
        "ingestion/hubspot/listing.py:3: ingestion.hubspot imports ingestion.registry",
        "ingestion/hubspot/rel.py:1: ingestion.hubspot imports ingestion.salesforce.client",
    ]


def test_every_package_has_a_floor_and_is_installed() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert packages - set(OUTSIDE) == set(FLOORS)

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    assert sorted(include) == sorted(f"{name}*" for name in FLOORS)

    # No installed library may shadow a package of the project (a top-level `core`, say).
    claimed = importlib.metadata.packages_distributions()
    for name in (*FLOORS, *OUTSIDE):
        assert set(claimed.get(name, [])) <= {"crm-kpi"}, (name, claimed[name])

    from core.paths import DBT_PROJECT_DIR, PROJECT_ROOT

    assert PROJECT_ROOT == ROOT
    assert (DBT_PROJECT_DIR / "dbt_project.yml").is_file()


def _future_annotations(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(alias.name == "annotations" for alias in node.names)
        for node in tree.body
    )


def _defines_dlt_objects(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if ast.unparse(target) in ("dlt.resource", "dlt.transformer", "dlt.source"):
                    return True
    return False


def test_dlt_resource_modules_keep_real_annotations() -> None:
    """dlt reads a resource's real annotations (an incremental cursor, a secret-typed
    argument); `from __future__ import annotations` turns them into strings."""
    offenders = []
    for path in python_files(ROOT / "ingestion"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if _defines_dlt_objects(tree) and _future_annotations(tree):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


_DUMMY_URL = "http://127.0.0.1:9"  # nothing listens there; building a source sends no request


def _build(name: str, tmp_path: Path):
    if name == "hubspot":
        from ingestion.hubspot import hubspot_source

        return hubspot_source(api_key="x", base_url=_DUMMY_URL)
    if name == "pipedrive":
        from ingestion.pipedrive import pipedrive_source

        return pipedrive_source(api_token="x", base_url=_DUMMY_URL)
    if name == "salesforce":
        from ingestion.salesforce import salesforce_source

        return salesforce_source(access_token="x", base_url=_DUMMY_URL)
    if name == "files":
        from ingestion.files import files_source

        return files_source(path=str(tmp_path))
    from ingestion.demo import demo_source

    return demo_source()


def test_the_sources_are_the_registrys() -> None:
    from ingestion.registry import SOURCES as REGISTERED

    folders = {p.parent.name for p in (ROOT / "ingestion").glob("*/__init__.py")}
    assert set(SOURCES) == set(REGISTERED) == folders - {"common"}


@pytest.mark.parametrize("name", SOURCES)
def test_every_resource_keeps_its_source_section(name: str, tmp_path: Path) -> None:
    """dlt reads a resource's settings under `sources.<section>`, the section being the
    defining module's last name unless `section=` says otherwise: a resource moved into a
    module of its own must keep its source's name (SOURCES__<SOURCE>__... stays valid)."""
    source = _build(name, tmp_path)
    assert source.section == name
    assert {r: resource.section for r, resource in source.resources.items()} == {
        r: name for r in source.resources
    }


def _floors_section() -> str:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"^## Floors\n(.*?)(?=^## )", text, re.S | re.M)
    assert found, f"{DOC} has no '## Floors' section"
    return found[1]


def test_the_architecture_doc_draws_these_floors() -> None:
    """The drawing and the table of docs/architecture.md's Floors section say what
    FLOORS says, so the picture and the rule cannot drift apart."""
    section = _floors_section()
    drawing = re.search(r"```\n(.*?)```", section, re.S)
    assert drawing, "the Floors section has no drawing"
    for package, floor in FLOORS.items():
        assert re.search(rf"^\s*{floor}\s+.*\b{package}/", drawing[1], re.M), (
            f"the drawing does not show {package}/ on floor {floor}"
        )
    rows = {
        row[1]: (int(row[0]), set(re.findall(r"`(\w+)`", row[2])))
        for row in re.findall(r"^\| (\d) \| `(\w+)` \| (.*?) \|$", section, re.M)
        for row in [(row[0], row[1], row[2])]
    }
    expected = {
        package: (floor, {other for other, below in FLOORS.items() if below < floor})
        for package, floor in FLOORS.items()
    }
    assert rows == expected


def _sized_modules(root: Path) -> list[Path]:
    """The product's and the benchmark's modules, and the fake CRM servers: the code a
    reader opens to find their way (the tests themselves read as lists of cases)."""
    return [
        path
        for path in python_files(root)
        if path.relative_to(root).parts[0] != "tests"
        or path.relative_to(root).as_posix().startswith("tests/fakes/")
    ]


def test_modules_stay_small() -> None:
    """No module grows past MAX_LINES lines unless it is a listed exception with a reason
    (docs/architecture.md, "Long modules"): a module of one job fits on a few screens."""
    long = {
        path.relative_to(ROOT).as_posix(): count
        for path in _sized_modules(ROOT)
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    unlisted = {path: count for path, count in long.items() if path not in LONG_MODULES}
    assert not unlisted, (
        f"modules over {MAX_LINES} lines: {unlisted}; split them by concern "
        "(docs/architecture.md#floors), or list a data table in LONG_MODULES and in the docs"
    )
    doc = DOC.read_text(encoding="utf-8")
    for path in LONG_MODULES:
        assert (ROOT / path).is_file(), f"LONG_MODULES lists {path}, which does not exist"
        assert f"`{path}`" in doc, f"{path} is long but not listed in {DOC.name}"


def test_a_long_module_is_found(tmp_path: Path) -> None:
    """The size check reads product code and fakes, not the tests' own case lists."""
    _write(tmp_path, "warehouse/big.py", "x = 1\n" * (MAX_LINES + 1))
    _write(tmp_path, "tests/fakes/big.py", "x = 1\n" * (MAX_LINES + 1))
    _write(tmp_path, "tests/test_many_cases.py", "x = 1\n" * (MAX_LINES + 1))
    _write(tmp_path, "core/small.py", "x = 1\n" * MAX_LINES)
    sized = {path.relative_to(tmp_path).as_posix() for path in _sized_modules(tmp_path)}
    assert sized == {"warehouse/big.py", "tests/fakes/big.py", "core/small.py"}
