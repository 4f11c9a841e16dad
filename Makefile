# The front door. `make demo` and `make test` install what they need on a fresh Debian 12
# machine (run as root: Debian packages and podman), then reuse it on later runs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ENV := . tests/harness/env.sh &&

.PHONY: demo demo-down test bootstrap-demo bootstrap-test units unit-stage lint sanity compat awx windows molecule \
	bench-identify bench-plan bench-scale bench-events build clean

demo: bootstrap-demo
	$(ENV) python tests/harness/demo.py up

demo-down:
	$(ENV) python tests/harness/demo.py down

test: bootstrap-test
	$(ENV) tests/run-all.sh

bootstrap-demo:
	tests/harness/bootstrap.sh demo

bootstrap-test:
	tests/harness/bootstrap.sh test

# Unit tests alone, in a plain virtualenv (.venv-units): no root, podman or Chromium needed.
units:
	tests/units.sh

# Pieces of `make test`, for working on one part (they assume a bootstrapped tree).
unit-stage:
	$(ENV) tests/run-all.sh units
lint:
	$(ENV) tests/run-all.sh lint
sanity:
	$(ENV) tests/run-all.sh sanity
compat:
	$(ENV) tests/run-all.sh compat
awx:
	$(ENV) tests/run-all.sh awx
windows:
	$(ENV) tests/run-all.sh windows
molecule:
	$(ENV) tests/run-all.sh molecule

# Benchmarks print figures (ratios measured in one run); they assert nothing about time.
bench-identify: bootstrap-demo
	$(ENV) python tests/bench/identify_bench.py $(if $(AGAINST),--rounds 7 --against $(AGAINST))
bench-plan: bootstrap-demo
	$(ENV) python tests/bench/plan_bench.py
# plan and report-only at 10,000 and 100,000 cached hosts vs a floor playbook, peak memory,
# growth, correctness, and the three pages in chromium (HOSTS="10000 50000" for a shorter run)
bench-scale: bootstrap-demo
	$(ENV) python tests/bench/scale_bench.py $(if $(HOSTS),--hosts $(HOSTS))
# job events of execute under ansible-runner on harness containers (AWX stores each one)
bench-events: bootstrap-test
	$(ENV) python tests/bench/execute_events_bench.py

build:
	$(ENV) ansible-galaxy collection build --force --output-path .cache/dist .

clean:
	$(ENV) python tests/harness/demo.py down || true
	rm -rf .venv .venv-2.16 .venv-2.18 .venv-units .cache tests/output divest-reports
