#!/usr/bin/env bash
# Apache Superset in its own virtual environment, for the BI-client test (tests/report).
#
# Superset pins SQLAlchemy 1.4, pandas 2.1 and numpy < 2.3, which clash with crm-kpi's
# own pins, so it never shares the project's .venv: it lives in a cache folder, built
# once (~2 minutes, ~1 GB) and reused by every later test run on the same machine. A
# finished install is a no-op; an interrupted one is redone.
#
#   scripts/install_superset.sh [DIR]     default: ${CRM_KPI_CACHE:-~/.cache/crm-kpi}/superset
#
# Prints DIR on success. Exit codes the test reads:
#   0  installed (DIR/bin/superset works, DIR/metadata-template.db is ready)
#   3  it cannot be installed here (no Python 3.10-3.12): the test skips
#   1  the install failed (the pip log is printed): the test fails
#
# DuckDB 1.x (not the project's 2.0) is installed on purpose: the serving file is written
# with storage version v1.4.0 so that BI tools bundling DuckDB 1.x read it, and this is one.
set -euo pipefail

SUPERSET_VERSION="6.1.0"
HERE="$(cd "$(dirname "$0")" && pwd)"
CONSTRAINTS="$HERE/superset-constraints.txt"
DIR="${1:-${CRM_KPI_CACHE:-$HOME/.cache/crm-kpi}/superset}"
STAMP="$DIR/.installed-$SUPERSET_VERSION-$(cksum "$CONSTRAINTS" | cut -d' ' -f1)"

if [[ -f "$STAMP" ]]; then
    echo "$DIR"
    exit 0
fi

PYTHON="${PYTHON:-}"
if [[ -z "$PYTHON" ]]; then
    for candidate in python3.11 python3.12 python3.10 python3; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))'
        then
            PYTHON="$(command -v "$candidate")"
            break
        fi
    done
fi
if [[ -z "$PYTHON" ]]; then
    echo "Superset $SUPERSET_VERSION needs Python 3.10 to 3.12; none found (set PYTHON=...)" >&2
    exit 3
fi

start=$(date +%s)
rm -rf "$DIR"
mkdir -p "$DIR"
LOG="$DIR/install.log"
fail() {
    echo "Superset install failed ($1); the end of $LOG:" >&2
    tail -n 40 "$LOG" >&2
    exit 1
}

"$PYTHON" -m venv "$DIR" >>"$LOG" 2>&1 || fail "venv"
"$DIR/bin/pip" install --quiet --upgrade pip >>"$LOG" 2>&1 || fail "pip upgrade"
"$DIR/bin/pip" install --quiet --constraint "$CONSTRAINTS" \
    "apache-superset[duckdb]==$SUPERSET_VERSION" rich cachetools >>"$LOG" 2>&1 \
    || fail "pip install"

# The metadata database every test copies instead of migrating its own (~20 s saved):
# schema migrated, roles and permissions created; no user, no secret stored in it.
export SUPERSET_HOME="$DIR/home"
export SUPERSET_CONFIG_PATH="$DIR/template_config.py"
mkdir -p "$SUPERSET_HOME"
cat >"$SUPERSET_CONFIG_PATH" <<PY
SECRET_KEY = "template-only-$(date +%s%N)"
SQLALCHEMY_DATABASE_URI = "sqlite:///$DIR/metadata-template.db"
PY
"$DIR/bin/superset" db upgrade >>"$LOG" 2>&1 || fail "superset db upgrade"
"$DIR/bin/superset" init >>"$LOG" 2>&1 || fail "superset init"
"$DIR/bin/python" -c 'import duckdb, duckdb_engine, sqlalchemy; print("duckdb", duckdb.__version__, "sqlalchemy", sqlalchemy.__version__)' >>"$LOG" 2>&1 \
    || fail "import check"

rm -f "$DIR"/.installed-*
touch "$STAMP"
echo "Superset $SUPERSET_VERSION installed in $DIR in $(( $(date +%s) - start )) s" >&2
echo "$DIR"
