#!/usr/bin/env bash
# Set up (first run only) and start the app on http://127.0.0.1:7860.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh app
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_DISABLE_TELEMETRY=1 GLOG_minloglevel=2 TF_CPP_MIN_LOG_LEVEL=2
exec .venv/bin/python app.py "$@"
