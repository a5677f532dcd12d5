#!/usr/bin/env bash
# The test suite: sets up .venv if needed, then lint, format check, type check and tests.
# Extra arguments go to pytest (for example: ./test.sh -k dds -x).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$root"
bash scripts/setup_env.sh
echo "test: ruff check"
.venv/bin/ruff check .
echo "test: ruff format --check"
.venv/bin/ruff format --check .
echo "test: mypy (pyproject.toml's [tool.mypy])"
.venv/bin/mypy
echo "test: pytest"
exec .venv/bin/python -m pytest "$@"
