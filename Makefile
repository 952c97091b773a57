# Entry points. Each target sets itself up from nothing (virtualenv, install).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# Two xdist workers; a module whose fixture builds something costly once (the printed
# reports, the TLS server) runs on one of them, once a run, not once a worker (ONE_WORKER,
# tests/conftest.py); test_upgrade's old-release demo and its upgrade are built once a run
# and copied by each worker, its tests split in parts between them (SPLIT).
XDIST := -n 2

# This machine's environment (CI's too) sets PYTHONDONTWRITEBYTECODE: no process would
# keep the bytecode it compiles, so every Python process of a run (two workers, each CLI
# subprocess) compiled ledger/ and cli/ from source again, and each worker rewrote every
# test module's asserts again: collecting the suite cost 9 CPU-s a worker, 3.4 with the
# bytecode kept. Our targets keep it (__pycache__/ is ignored by git).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test test-server lint bench reliability docs clean i18n catalogue

# The message catalogue, compiled at build time (pip install runs setup.py's build_py
# too); `make i18n` extracts new messages into the .pot and each .po.
PO := $(wildcard ledger/locale/*/LC_MESSAGES/*.po)
# Each .mo with its parsed form beside it (ledger.i18n.write_parsed: what start-up loads).
MO := $(PO:.po=.mo) $(PO:.po=.mo.marshal)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# One recipe makes every .mo (grouped target, &:): under make -j a plain rule would run it once per file, at once.
$(MO) &: $(PO) $(STAMP)
	$(BIN)/python -m cli.catalogue compile

catalogue: $(MO)

i18n: $(STAMP)
	$(BIN)/python -m cli.catalogue update
	$(BIN)/python -m cli.catalogue compile

demo: $(STAMP) $(MO)
	$(BIN)/fundledger demo --out demo-output

test: $(STAMP) $(MO)
	$(BIN)/python -m pytest -q -m "not slow" $(XDIST) $(PYTEST_ARGS)

# Once more against a real server (CI does this when 127.0.0.1:5432 answers, beside `make test`,
# which runs every test on the embedded PostgreSQL 18): the tests marked `server`, whose outcome can
# depend on the server — its version, settings, the roles and databases of a shared cluster,
# real concurrency: the tests of tests/security that reach the suite's server and the
# integration modules that say so (rule and list: pytest_collection_modifyitems in
# tests/conftest.py; docs/architecture.md#tests).
# Tests with servers of their own (upgrade, backup, TLS, benchmarks) or whose subject is not
# the server's are not run twice: SAME_ON_ANY_SERVER (tests/conftest.py) lists 135 security
# modules and 138 single tests decided by the ledger's own refusals, caps and arithmetic, the
# readers and the verdicts' Python; every kind of server dependence keeps its modules here
# (tests/unit/test_server_selection.py), and a module of tests/integration marks its own tests.
# 2026-12-07: 1,047 -> 446 tests marked (bench/history/2026-12-07-ci-time-3.md); grown to 516
# by the evening's attack tests, read again: 362 (52 of tests/integration, 310 of
# tests/security), 396 with ATTACK20 L2's 34 built-ins tests (the catalogue's, on both servers;
# bench/history/2026-12-07-ci-time-10.md). PostgreSQL 15's share was mostly
# LLVM compiling (Debian's jit = on) until every session started with JIT off: 1.73 -> 0.54
# CPU-s of the server a test (bench/history/2026-12-07-ci-time-6.md). 2026-12-08: 416 -> 370 (SERVER_CASES:
# a parametrised test whose cases ask the server the same thing keeps one case of each lever there) and
# each worker's template and copies in a tablespace on tmpfs (_copies_tablespace: a copy's ~460 files on
# ext4 cost 0.30 CPU-s of the server, 0.08 there): 345.6 -> 227.1 CPU-s, PostgreSQL 15's 271.9 -> 164.1
# (bench/history/2026-12-08-ci-time-13.md).
# Roles are cluster-wide: on a shared server a `cluster_roles` test runs alone
# (tests/conftest.py, _cluster_guard).
# It waits for the server's disk more than for our CPU (.ci/run), and keeps its own pytest
# cache (last failures): the two sessions do not write one file.
test-server: $(STAMP) $(MO)
	FUNDLEDGER_TEST_DATABASE_URL=$${FUNDLEDGER_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres} \
	  $(BIN)/python -m pytest -q -m "server and not slow" $(XDIST) -o cache_dir=.pytest_cache/server \
	  tests/integration tests/security $(PYTEST_ARGS)

lint: $(STAMP) $(MO)
	$(BIN)/ruff check ledger cli sql tests bench
	$(BIN)/mypy

bench: $(STAMP) $(MO)
	$(BIN)/python -m bench.run

# Every reliability test, long versions included (about 10 minutes); figures go to
# reliability-report.json (docs/reliability.md quotes one such run).
reliability: $(STAMP) $(MO)
	FUNDLEDGER_RELIABILITY_REPORT=$${FUNDLEDGER_RELIABILITY_REPORT:-reliability-report.json} \
	  $(BIN)/python -m pytest -q tests/reliability $(PYTEST_ARGS)

docs: $(STAMP) $(MO)
	$(BIN)/python -m cli.docgen docs/cli.md

clean:
	rm -rf $(VENV) build *.egg-info demo-output

# LibreOffice (headless) and the CJK font the print test (tests/acceptance/test_print.py)
# converts every report workbook with: Debian's packages, installed only when missing.
# As root (CI) apt-get installs them; otherwise sudo -n if it needs no password; else a
# loud notice, and the test skips saying why (it fails instead as root or when CI is set).
PRINT_PACKAGES := libreoffice-calc-nogui fonts-noto-cjk
.PHONY: deps-print
test: deps-print
deps-print:
	@if command -v soffice >/dev/null 2>&1 && fc-list ':family=Noto Sans CJK SC' 2>/dev/null | grep -q .; then \
	  exit 0; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "deps-print: installing $(PRINT_PACKAGES)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(PRINT_PACKAGES); \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	  sudo -n apt-get update -qq && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(PRINT_PACKAGES); \
	else \
	  echo "*** deps-print: LibreOffice or Noto Sans CJK SC is missing and this user cannot install them;" >&2; \
	  echo "*** run: sudo apt-get install $(PRINT_PACKAGES)   (the print test is skipped until then)" >&2; \
	fi
