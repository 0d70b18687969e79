# The two commands: `make run` and `make test`. See README.md.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make run` serves on HUB_PORT; every link, postback URL and email it prints says SITE_URL,
# which follows the port unless it is set (e.g. to the public address behind a proxy).
HUB_PORT ?= 8000
ifndef SITE_URL
SITE_URL := http://127.0.0.1:$(HUB_PORT)
endif
export HUB_PORT SITE_URL

.PHONY: run test install migrate demo lint format bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed (set PYTHON=/path/to/python3.11)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	@mkdir -p var/broker/out var/broker/processed var/broker/control var/cache
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seeddemo

run: demo
	@echo ""
	@echo "  Hub running at http://127.0.0.1:$(HUB_PORT)/   (Ctrl-C stops web, worker and beat)"
	@echo "  Links and postback URLs say $(SITE_URL) (set SITE_URL to change it)"
	@echo "  Demo logins (password: demo-password-1):"
	@echo "    owner@demo.test    manager@demo.test    finance@demo.test"
	@echo "  Member portal: Ava Trails' one-time sign-in link is printed above (http://127.0.0.1:$(HUB_PORT)/portal/)"
	@echo ""
	$(BIN)/honcho start -f Procfile

test: $(STAMP)
	@mkdir -p var/broker/out var/broker/processed var/broker/control var/cache
	$(BIN)/python -m tests.run $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m bench.run $(ARGS)

clean:
	rm -rf var db.sqlite3 db.sqlite3-shm db.sqlite3-wal
