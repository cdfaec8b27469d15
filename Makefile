# Short commands for working on the project (each installs the locked versions first).
# CI runs `make check`'s steps from .ci/run on a clean clone.
UV := python -m uv run --locked

.PHONY: check lint test unit model e2e slow golden bench run

check: lint test slow       ## what CI runs: the habits, the default suite, the slow tier

lint:                       ## ruff, the formatter's check, the type checker
	$(UV) ruff check .
	$(UV) ruff format --check .
	$(UV) mypy

test:                       ## the default suite (not the slow checks)
	$(UV) pytest

unit:                       ## pieces on their own, in seconds
	$(UV) pytest tests/unit

model:                      ## tiny campaigns: behaviour, conservation, determinism, golden baselines
	$(UV) pytest tests/model

e2e:                        ## commands, files, sweeps, docs
	$(UV) pytest tests/e2e

slow:                       ## the slow tier: full-scale runs, the 24-run ensemble, the killed search, the benchmark run
	$(UV) pytest -m slow

golden:                     ## write the golden baselines again (say why in CHANGELOG.md)
	$(UV) python -m tests.golden

bench:                      ## the benchmark (a few minutes)
	$(UV) python benchmarks/benchmark.py

run:                        ## the main job: 2021 at full scale
	$(UV) python -m sim
