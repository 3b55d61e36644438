#!/usr/bin/env bash
# Regenerate requirements.lock (from requirements.txt) and requirements-test.lock (from requirements-test.txt):
# every package pinned with its hashes for Linux x86-64 (manylinux_2_28), CPython 3.11, from PyPI.
# scripts/setup.sh installs from these locks with --require-hashes. Versions already in a lock are kept unless
# asked otherwise; extra arguments go to `uv pip compile`, e.g. `bash scripts/lock.sh --upgrade` or
# `bash scripts/lock.sh --upgrade-package gradio`.
# Note: PyPI's Linux torch wheel depends on the nvidia-* CUDA 13 wheels, so they are locked too (it is what
# `pip install torch` installs there; torch runs on CPU without a GPU all the same).
set -euo pipefail
cd "$(dirname "$0")/.."

uv="$(command -v uv || true)"
[ -z "$uv" ] && [ -x .venv/bin/uv ] && uv=.venv/bin/uv
if [ -z "$uv" ]; then
  # uv is not a project dependency: install it once into a throwaway venv.
  tool="${TMPDIR:-/tmp}/portrait-studio-uv"
  if [ ! -x "$tool/bin/uv" ]; then
    "${PYTHON:-python3}" -m venv "$tool"
    "$tool/bin/python" -m pip install --quiet --disable-pip-version-check uv
  fi
  uv="$tool/bin/uv"
fi

# pip's own constraint files on this machine (PIP_CONSTRAINT, or `constraint =` in a pip.conf) cap what `pip install`
# may pick here, e.g. torch<=2.14.1 where only those wheels are mirrored: the lock honours them, so that it installs
# on the machine that made it. Within requirements.txt's ranges (torch==2.14.*, torchvision==0.29.*) either way.
machine_constraints=()
for f in ${PIP_CONSTRAINT:-} $("${PYTHON:-python3}" -m pip config list 2>/dev/null \
    | sed -n "s/^[a-z:]*\.constraint='\(.*\)'$/\1/p"); do
  [ -f "$f" ] && machine_constraints+=(--constraint "$f")
done

compile() {  # compile IN OUT [extra uv args]
  local in="$1" out="$2"
  shift 2
  "$uv" pip compile "$in" -o "$out" --generate-hashes --python-version 3.11 \
    --python-platform x86_64-manylinux_2_28 --index-url https://pypi.org/simple --index-strategy first-index \
    --custom-compile-command "bash scripts/lock.sh" --quiet ${machine_constraints[@]+"${machine_constraints[@]}"} "$@"
}

compile requirements.txt requirements.lock "$@"
# The test lock is the runtime lock plus the test tools: same versions for every shared package.
compile requirements-test.txt requirements-test.lock --constraint requirements.lock "$@"
echo "wrote requirements.lock, requirements-test.lock"
