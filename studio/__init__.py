"""Portrait Studio tooling: trainer (Accelerate), datasets, Hub sync and the `python -m studio` CLI."""
