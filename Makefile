# MY Wallet Support: `make run` and `make test` work from a fresh clone.
# Everything is installed into .venv; nothing outside the repository is touched.

.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MANAGE := $(BIN)/python manage.py

# A Python 3.12+ to build the virtualenv with: the first of PYTHON (if given),
# python3.14 ... python3, then pyenv's installed 3.12+ versions, newest first.
# Evaluated only when the virtualenv has to be (re)built.
find_python = $(shell \
	ok() { "$$@" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }; \
	for p in $(PYTHON) python3.14 python3.13 python3.12 python3; do \
		if command -v "$$p" >/dev/null 2>&1 && ok "$$p"; then \
			"$$p" -c 'import sys; print(sys.executable)'; exit 0; \
		fi; \
	done; \
	if command -v pyenv >/dev/null 2>&1; then \
		for v in $$(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9]|[2-9][0-9])(\.[0-9]+)*$$' | sort -rV); do \
			if PYENV_VERSION=$$v ok python3; then \
				PYENV_VERSION=$$v python3 -c 'import sys; print(sys.executable)'; exit 0; \
			fi; \
		done; \
	fi)

.PHONY: help venv run test lint format clean messages

help:
	@echo "make run     virtualenv, migrate, demo data, then serve http://127.0.0.1:8000 (daphne + task worker)"
	@echo "make test    virtualenv, then the whole test suite"
	@echo "make lint    ruff check, ruff format --check, and lint-imports (the layers)"
	@echo "make format  ruff format and ruff check --fix"
	@echo "make clean   remove the virtualenv, caches, collected static files and the local database"

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@if [ -x "$(BIN)/python" ] && ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
		echo "$(VENV) was made with Python < 3.12; rebuilding it."; \
		rm -rf $(VENV); \
	fi
	@if [ ! -x "$(BIN)/python" ]; then \
		py="$(find_python)"; \
		if [ -z "$$py" ]; then \
			echo "ERROR: Python 3.12 or newer is required (Django 6.1), and none was found." >&2; \
			echo "Tried: python3.14, python3.13, python3.12, python3 and pyenv's versions." >&2; \
			echo "Install one (e.g. 'pyenv install 3.13', 'apt install python3.13-venv'," >&2; \
			echo "'brew install python@3.13' or https://www.python.org/downloads/)," >&2; \
			echo "or point make at it: make PYTHON=/path/to/python3.13 $(MAKECMDGOALS)" >&2; \
			exit 1; \
		fi; \
		echo "Creating $(VENV) with $$py ($$("$$py" --version))"; \
		"$$py" -m venv $(VENV); \
	fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

# Compile translations when there are any (gettext's msgfmt must be installed then).
messages: venv
	@if find . -path ./$(VENV) -prune -o -name '*.po' -print 2>/dev/null | grep -q .; then \
		DJANGO_DEBUG=true $(MANAGE) compilemessages --ignore '$(VENV)' --verbosity 0; \
	fi

run: venv messages
	DJANGO_DEBUG=true $(MANAGE) migrate --noinput
	DJANGO_DEBUG=true $(MANAGE) collectstatic --noinput --verbosity 0
	DJANGO_DEBUG=true $(MANAGE) seed_demo
	DJANGO_DEBUG=true bin/run-dev.sh

test: venv messages
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache var test-output
	rm -f db.sqlite3 db.sqlite3-wal db.sqlite3-shm
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name '*.mo' -not -path './$(VENV)/*' -delete
