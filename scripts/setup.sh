#!/usr/bin/env bash
# Create .venv (Python 3.11) and install the project's requirements; idempotent.
# Usage: scripts/setup.sh [app|test]
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-app}"
py="${PYTHON:-python3.11}"
command -v "$py" >/dev/null || py=python3
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
req=requirements.txt
[ "$mode" = test ] && req=requirements-test.txt
stamp=".venv/.installed-$mode-$(cat requirements.txt requirements-test.txt | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
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
