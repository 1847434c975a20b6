# nmda-review: two commands on a fresh machine.
#   make run   - create .venv, install from the pinned lock, run every notebook on the embedded default
#   make real  - fetch the real review's data rows (pinned, SHA-256 checked) and run every notebook on them
#   make test  - install, then run the test suite (unit tests, reference comparisons, nbval on the committed set)
#   make test-slow - the slow end-to-end tier (whole run set + verify, README walk-through, browsers); CI runs it too
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
KERNEL := nmda-review-py3
JOBS ?= 2
OUT ?= runs/default
# DATA=path/to/package.zip runs everything on another Cochrane data package (e.g. the real review's).
DATA ?=
# make real: the real review's data rows (fetched and SHA-256 checked; FROM=path/to/CD015373_pub2_data.rda uses a
# local copy, cached in data/external/ so later runs work offline) into runs/cd015373-real.
FROM ?=
LOCK_EXTRAS := --extra explore --extra notebook --extra test
# P="-p estimator=REML -p ci_method=hksj": notebook parameters for make run / make real (a departure from the
# review's settings, named on every page); ADD_ROWS=extra.csv: study rows added to the data (data/README.md).
P ?=
ADD_ROWS ?=

.PHONY: install run real test test-slow verify explore explore-real lock benchmark benchmark-tests synthetic clean

install: $(STAMP)

# requirements.lock carries a SHA-256 for every file: --require-hashes refuses anything else.
# --compile-bytecode writes the .pyc files at install: every notebook kernel imports matplotlib, pandas, scipy and
# IPython, and where PYTHONDONTWRITEBYTECODE is set (as on the reference machine) each kernel otherwise compiled
# them from source again (library imports 40 s -> 15 s under load; benchmarks/run.py's floor).
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
	$(UV) pip install --python $(PY) --quiet --compile-bytecode --require-hashes -r requirements.lock
	$(UV) pip install --python $(PY) --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (nmda-review)" >/dev/null
	touch $@

run: $(STAMP)
	$(PY) -m helpers.run --out $(OUT) --jobs $(JOBS) $(if $(DATA),--data "$(DATA)") $(if $(ADD_ROWS),--add-rows "$(ADD_ROWS)") $(P)

real: $(STAMP)
	$(PY) -m helpers.run real --jobs $(JOBS) $(if $(FROM),--from "$(FROM)") $(if $(ADD_ROWS),--add-rows "$(ADD_ROWS)") $(if $(filter command line environment,$(origin OUT)),--out "$(OUT)") $(P)

# OUT=runs/<name>: that run; without OUT, the only run under runs/ (else the runs are listed).
verify: $(STAMP)
	$(PY) -m helpers.run verify $(if $(filter command line environment,$(origin OUT)),"$(OUT)") --jobs $(JOBS)

# Everything but the tests marked slow; the committed notebook set is executed once (nbval, images included).
test: $(STAMP)
	$(PY) -m pytest -n $(JOBS) --dist loadfile -m "not slow"

# The slow end-to-end tier, run by CI (.ci/run) after make test; it includes the corpus mode over all 400
# reviews of ../shared/fixtures/pairwise70 (tests/test_pairwise70.py).
test-slow: $(STAMP)
	$(PY) -m pytest -n $(JOBS) --dist loadfile -m "slow"

# make explore: the synthetic default (DATA=path: any input load_dataset accepts); make explore-real: the review's
# own data rows, fetched and SHA-256 checked as by make real (FROM=path: a local copy).
explore: $(STAMP)
	$(PY) -m helpers.explore $(if $(DATA),--data "$(DATA)")

explore-real: $(STAMP)
	$(PY) -m helpers.explore real $(if $(FROM),--from "$(FROM)")

# One table: every benchmarks/*.py script (engine against metafor, small analyses, explorer, the full run against
# its floor with its stages). QUICK=1: the quick modes make test runs. README=1: also write the measurement into
# README.md's Performance section (between its benchmark-table markers).
benchmark: $(STAMP)
	$(PY) benchmarks/_all.py $(if $(QUICK),--quick) $(if $(README),--readme README.md)

# Wall time of make test against the 6-minute aim (run on a quiet machine).
benchmark-tests: $(STAMP)
	$(PY) benchmarks/test_suite.py

# One-off regeneration of the committed synthetic package (the only command allowed to write data/raw/).
synthetic: $(STAMP)
	$(PY) -m helpers.synthetic --out data/raw/synthetic-cd015373 --allow-raw

# pyproject.toml declares the dependencies once; the hashed lock and environment.yml are generated from it
# (tests/test_dependencies.py checks they are in step).
lock: $(STAMP)
	$(UV) pip compile pyproject.toml $(LOCK_EXTRAS) --generate-hashes --python-version 3.11 --quiet -o requirements.lock
	$(PY) scripts/environment_yml.py

clean:
	rm -rf $(VENV) runs
