# Entry points for a fresh Debian/Ubuntu machine (see README):
#   make demo   - set up, then the quick computed chain (2x1 exchange reaction, GFN1-xTB,
#                 implicit solvent, bridge; minutes) and the paper-preset CP2K inputs
#   make paper-dry-run - the paper's whole 2x2 study with the dry-run engine (about 1.5 h on 2 cores)
#   make test   - set up, then run the test suite
#   make test-fast - the suite without CP2K, tblite on slabs or FireWorks runs (< 2 min)
# Both create/update the virtual environment in .venv (the package with its test and
# postgres extras) and install CP2K with apt when it is missing and permitted (root or
# passwordless sudo; set NO_APT=1 to skip). The PostgreSQL tests start a throw-away
# server with tests/pg_server.sh when the server binaries are installed (apt-get install
# postgresql; .ci/run does), or use ATOMISTICS_TEST_PG_URL; else they are skipped.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out

.PHONY: demo paper-dry-run test test-fast setup cp2k lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test,postgres]"
	@touch $(STAMP)

setup: $(STAMP) cp2k

cp2k:
	@if command -v cp2k >/dev/null 2>&1 || command -v cp2k.psmp >/dev/null 2>&1 || [ -n "$$CP2K_COMMAND" ]; then \
		echo "CP2K: $$(command -v cp2k || command -v cp2k.psmp || echo $$CP2K_COMMAND)"; \
	elif [ -n "$(NO_APT)" ]; then \
		echo "CP2K not found and NO_APT set: CP2K tests will be skipped (see README: CP2K on other systems)"; \
	elif [ "$$(id -u)" = 0 ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cp2k; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cp2k; \
	else \
		echo "CP2K not found and cannot install it with apt (not root, no sudo): CP2K tests will be skipped"; \
	fi

# --allow-unconverged: the bridge is evaluated even when an input is flagged (e.g. a
# solvated single point that ended in another electronic state); every such line is
# marked UNCONVERGED in the output, so the flag shows what is trusted and what is not.
demo: setup
	$(BIN)/atomistics run workflows/limmt_exchange_2x1.yaml --engine xtb --db $(OUT)/results.db \
		--workdir $(OUT)/runs --plot $(OUT)/exchange.png --bridge-plot $(OUT)/bridge_bands.png \
		--allow-unconverged
	$(BIN)/atomistics inputs workflows/limmt_fsi.yaml -o $(OUT)/cp2k_inputs
	@echo "--- for comparison only: the bridge on the paper's published charged-fragment binding"
	@echo "--- energies (FITTED screening path), fitted to the measured stack t+ 0.32 -> 0.63:"
	$(BIN)/atomistics bridge --e-surface-anion "-10.39 eV" --e-cation-anion "-8.35 eV" \
		--current-density "1 mA/cm^2" --calibrate 0.32 0.63 --calibrate-target stack \
		--plot $(OUT)/bridge_paper_values.png

paper-dry-run: setup
	$(BIN)/atomistics run workflows/limmt_fsi.yaml --engine xtb --db $(OUT)/paper.db \
		--workdir $(OUT)/paper_runs --plot $(OUT)/binding_energies.png

test: setup
	$(BIN)/python -m pytest

# Developers' quick check (under 2 minutes): no CP2K, no tblite on slabs, no FireWorks runs.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not cp2k and not slow and not heavy"

lint: $(STAMP)
	$(BIN)/ruff check atomistics tests benchmarks
	$(BIN)/ruff format --check atomistics tests benchmarks

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
