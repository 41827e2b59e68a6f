# Two commands matter: `make run` and `make test`. Both set up everything first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup run test bench demo clean package package-test

# The window's system libraries (Qt WebEngine links to some that pip cannot bring, e.g.
# libnss3, libxcb-cursor0): checked after every setup, in well under a second. A missing
# one is a warning for setup/test/bench (CI needs only what offscreen Qt needs, and the
# command line needs none of them) and an error before `make run` opens the window, with
# the `sudo apt-get install ...` line to fix it. See packaging/check_system.py.
SYSCHECK := --warn

setup: $(STAMP)
	@$(PY) packaging/check_system.py --quiet $(SYSCHECK) -- $(ARGS)

# Idempotent: the stamp is rebuilt only when the pins or the project metadata change.
$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: SYSCHECK :=
run: setup
	$(PY) -m app $(ARGS)

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: setup
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache

# ---- the one-folder app (PyInstaller): dist/meeting-library-upgrade/ ---------------------
# Build-only pins live in packaging/requirements.txt, installed into the same .venv here
# (not in requirements.lock: `make test` stays lean and never builds the bundle).
PKG_NAME  := meeting-library-upgrade
BUNDLE    := dist/$(PKG_NAME)/$(PKG_NAME)
PKG_STAMP := $(VENV)/.packaging-installed
PKG_INPUTS := pyproject.toml requirements.lock packaging/requirements.txt \
	packaging/$(PKG_NAME).spec packaging/entry.py packaging/build.py \
	$(wildcard app/*.py app/*/*.py sql/* frontend/*)

$(PKG_STAMP): packaging/requirements.txt $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -r packaging/requirements.txt
	touch $(PKG_STAMP)

# Rebuilt only when an input changed (about 25 s here; `rm -rf dist` forces it).
$(BUNDLE): $(PKG_STAMP) $(PKG_INPUTS)
	$(PY) packaging/build.py

package: setup $(BUNDLE)

# The built app's --version, demo-library, status, migrate, and its window offscreen.
package-test: package
	$(PY) packaging/smoke_test.py --screenshot test-output/package/window.png
