#!/usr/bin/env bash
# Set up (first run only) and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_DISABLE_TELEMETRY=1 GLOG_minloglevel=2 TF_CPP_MIN_LOG_LEVEL=2
exec .venv/bin/python -m pytest "$@"
