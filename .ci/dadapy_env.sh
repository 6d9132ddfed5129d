#!/usr/bin/env bash
# Build the second virtual environment (numpy<2, dadapy 0.3.4, glassdyn core without extras)
# and run the dadapy cross-check tests (tests/dadapy_crosscheck/) in it.
#
# Usage: .ci/dadapy_env.sh [VENV_DIR]
#   VENV_DIR  defaults to $DADAPY_VENV, else <repo>/.venv-dadapy
#   PYTHON    interpreter used to create the venv (default: python3)
#   DADAPY_SKIP_BUILD=1  reuse an existing venv, only run the tests
#
# dadapy 0.3.4 is a source distribution on PyPI (Cython extensions): pip compiles it, so a
# C compiler and the Python headers must be present. It pins jax 0.4.30, which needs numpy<2.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-${DADAPY_VENV:-$REPO/.venv-dadapy}}"
PY="${PYTHON:-python3}"

t0=$(date +%s)
if [[ "${DADAPY_SKIP_BUILD:-0}" != "1" || ! -x "$VENV/bin/python" ]]; then
    echo "== dadapy env: creating $VENV with $($PY --version 2>&1)"
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip setuptools wheel
    # numpy<2 first, so that dadapy's build and jax resolve against it
    "$VENV/bin/python" -m pip install --quiet "numpy<2" scipy scikit-learn pytest
    "$VENV/bin/python" -m pip install --quiet "dadapy==0.3.4" "numpy<2"
    "$VENV/bin/python" -m pip install --quiet --no-deps -e "$REPO"
fi
t1=$(date +%s)
echo "== dadapy env ready in $((t1 - t0)) s"
"$VENV/bin/python" -c "import numpy, dadapy, glassdyn; print('numpy', numpy.__version__, '| dadapy', getattr(dadapy, '__version__', '0.3.4'), '| glassdyn', glassdyn.__version__)"

# --confcutdir keeps pytest from loading tests/conftest.py (which may import the full extras)
cd "$REPO"
"$VENV/bin/python" -m pytest tests/dadapy_crosscheck -q --confcutdir=tests/dadapy_crosscheck -p no:cacheprovider "${@:2}"
t2=$(date +%s)
echo "== dadapy cross-checks ran in $((t2 - t1)) s (total $((t2 - t0)) s)"
