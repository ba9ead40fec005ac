# The two set-up commands are `make run` and `make test`; everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install clean-var translations compile-translations bench-data bench bench-rules bench-kpis lint-imports scale-test

$(STAMP): setup.cfg setup.py pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## run the product on embedded PostgreSQL and Redis (or DATABASE_URL / REDIS_URL when set)
run: install
	$(PY) -m storecrm.devstack run

## run the whole test suite
test: install
	$(PY) -m pytest $(PYTEST_ARGS)

## the import-linter contracts of .importlinter (the test suite runs them too): storecrm is installed from three
## folders (platform/, plugins/, tenants/), so they are checked on a folder that joins them, as the wheel does
lint-imports: install
	$(PY) -m pytest -q -p no:randomly tests/test_contracts.py

## generate the benchmark databases (BENCH_SCALE=1: 1,000 tenants, 1,000,000 customers; see bench/README.md)
bench-data: install
	$(PY) bench/datagen.py

## run the benchmarks against them; writes bench/results/latest.json and latest.md
bench: install
	$(PY) bench/harness.py

## K1: the core KPIs over the bench-data database, product vs hand-written SQL; writes bench/results/kpis.json
bench-kpis: install
	$(PY) bench/kpi_bench.py

## E1: a date rule over 1,000,000 assets (own database in the bench cluster); writes bench/results/engines.json
bench-rules: install
	$(PY) bench/rules_bench.py

## scale-out on one machine: pgbouncer (apt-installed when missing), a streaming replica, RabbitMQ when running,
## 2 web + 2 workers + 2 schedulers, locust load and faults; writes bench/results/scale.json (SCALE_USERS, SCALE_SECONDS);
## first 1,000 concurrent lead captures through round robin (even spread, none lost)
scale-test: install
	$(PY) -m pip install --quiet -e '.[test,bench]'
	STORECRM_LEADS_SCALE=1000 $(VENV)/bin/pytest -q tests/test_leads_pipeline.py -k round_robin  # issue 15: 1,000 leads
	$(PY) bench/scale.py

## rebuild translations/messages.pot from the sources (developers only; .po files are committed)
translations: install
	$(VENV)/bin/pybabel extract -F frontend/babel.cfg -k lazy_gettext -k _l --no-location --sort-output -o frontend/translations/messages.pot .
	$(VENV)/bin/pybabel update -i frontend/translations/messages.pot -d frontend/translations --no-fuzzy-matching --width 120
	@echo "translate the new entries of frontend/translations/zh_Hans_CN/LC_MESSAGES/messages.po, then: make compile-translations"

compile-translations: install
	$(VENV)/bin/pybabel compile -d frontend/translations

clean-var:
	rm -rf var/
