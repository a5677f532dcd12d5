#!/usr/bin/env bash
# GPU check for any CUDA machine, no package registry needed, in under 8 minutes:
#   1. the tests marked `cuda` (test/pipeline, test/model, test/tools), if pytest is here;
#   2. bench/gpu_check.py: every network backend this machine has, alone and in the whole
#      reconstructor, per stage, batch 1 and 2, copies per frame, fp16 deviation in mm.
# Writes OUT/gpu_check.json, OUT/cuda_tests.json and OUT/cuda_tests.log (OUT: --out, default
# $TMPDIR/repehand_gpu_check); prints a table.
#
#   bench/gpu_check.sh [--dry-run] [--out DIR] [--checkpoint PATH] [--skip-compile]
#   DRY=1 bench/gpu_check.sh        # the same as --dry-run
#
# --dry-run runs on the CPU everything but the GPU parts and lists what it skipped and why.
# Needs Python with PyTorch, timm and numpy (onnx, onnxruntime, tensorrt used when there);
# smplx (pure Python) for the MANO parts: without it they are skipped and said so. Point
# PYTHON at the interpreter (default: .venv/bin/python if it exists, else python3);
# PYTHONPATH may add folders holding smplx or pytest.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

dry=${DRY:-0}
out=${TMPDIR:-/tmp}/repehand_gpu_check
extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --dry-run) dry=1 ;;
        --out) out=$2; shift ;;
        --checkpoint) extra+=(--checkpoint "$2"); shift ;;
        --skip-compile) extra+=(--skip-compile) ;;
        *) echo "gpu_check.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
if [[ "$dry" != 0 ]]; then
    extra+=(--dry-run)
fi
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$out"
started=$(date +%s)

# 1. The tests marked cuda: only the files that hold such tests are collected, so plugins
#    the rest of the suite uses (pytest-timeout) need not be installed here.
mapfile -t files < <(grep -l "pytest.mark.cuda" test/pipeline/test_*.py test/model/test_*.py \
    test/tools/test_*.py 2>/dev/null || true)
tests_json="$out/cuda_tests.json"
if ! "$PYTHON" -c "import pytest" 2>/dev/null; then
    echo "gpu_check: pytest is not installed: the tests marked cuda did not run"
    printf '{"ran": false, "summary": "pytest is not installed here: not run"}\n' >"$tests_json"
elif [[ ${#files[@]} -eq 0 ]]; then
    printf '{"ran": false, "summary": "no test file holds tests marked cuda"}\n' >"$tests_json"
else
    echo "gpu_check: pytest -m cuda ${files[*]}"
    set +e
    timeout 200 "$PYTHON" -m pytest -q -p no:cacheprovider -m cuda "${files[@]}" >"$out/cuda_tests.log" 2>&1
    status=$?
    set -e
    summary=$(tail -n 1 "$out/cuda_tests.log" | tr -d '"\\' | tr -s '=' | sed 's/^ *//')
    tail -n 15 "$out/cuda_tests.log"
    printf '{"ran": true, "exit_code": %d, "summary": "%s", "log": "%s"}\n' \
        "$status" "$summary" "$out/cuda_tests.log" >"$tests_json"
fi

# 2. The measurements: no row starts after 6.5 minutes in all (it is reported as skipped for
#    time), and the run is stopped at 7 min 50 s whatever happens; the JSON is written after
#    every row, so a stopped run keeps what it measured ("complete": false).
elapsed=$(( $(date +%s) - started ))
budget=$(( 390 - elapsed ))
if (( budget < 30 )); then budget=30; fi
set +e
timeout $(( 470 - elapsed )) "$PYTHON" bench/gpu_check.py --json "$out/gpu_check.json" \
    --tests-result "$tests_json" --budget-s "$budget" "${extra[@]}"
status=$?
set -e
echo "gpu_check: done in $(( $(date +%s) - started )) s (exit $status); results in $out/"
exit "$status"
