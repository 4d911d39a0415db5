# The two commands of the quick start: `make demo` and `make test`.
# Both set up everything they need on a fresh machine. `make test-fast` is the quick loop.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The versions CI tested (`make constraints` refreshes them): a fresh machine gets the same.
CONSTRAINTS := constraints.txt
DEMO_ENV := var/demo.env
DEMO_ADMIN := admin@example.com
# The demo admin's password, from the last DC_DEMO_ADMIN_PASSWORD line of $(DEMO_ENV).
DEMO_PASSWORD = sed -n 's/^DC_DEMO_ADMIN_PASSWORD=//p' $(DEMO_ENV) | tail -n 1

.PHONY: demo test test-fast lint format install constraints services browser deploy-tools bench clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found (Python 3.11 is required)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml $(CONSTRAINTS)
	$(BIN)/pip install --quiet --constraint $(CONSTRAINTS) -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# Re-pin constraints.txt: the newest versions pyproject.toml allows, resolved in a fresh
# virtualenv (nothing left over from an older install). Run `make test`, then commit it.
constraints:
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found (Python 3.11 is required)" >&2; exit 1; }
	rm -rf var/constraints-venv
	$(PYTHON) -m venv var/constraints-venv
	var/constraints-venv/bin/python -m pip install --quiet --upgrade pip
	var/constraints-venv/bin/pip install --quiet -e ".[dev]"
	{ echo "# pip freeze --exclude-editable of a fresh '.[dev]' install: the versions CI tested."; \
	  echo "# Used by 'make install'; refresh with 'make constraints'."; \
	  var/constraints-venv/bin/pip freeze --exclude-editable; } > $(CONSTRAINTS)
	rm -rf var/constraints-venv
	@echo "wrote $(CONSTRAINTS); run 'make test' before committing it"

services:
	@ops/ensure-services.sh

browser:
	@ops/install-browser.sh

deploy-tools:
	@ops/install-deploy-tools.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install services browser deploy-tools lint
	$(BIN)/python -m pytest

# The quick loop: unit and in-process API tests on SQLite; no browser, no PostgreSQL,
# Redis or RabbitMQ needed (tests marked browser, postgres or services are left out).
test-fast: install
	$(BIN)/python -m pytest tests/unit tests/api -m "not browser and not postgres and not services"

$(DEMO_ENV):
	@mkdir -p var
	@umask 077; { \
	  echo "DC_JWT_SECRET=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(48))')"; \
	  echo "DC_DATABASE_URL=sqlite:///var/demo.sqlite3"; \
	  echo "DC_API_HOST=127.0.0.1"; \
	  echo "DC_API_PORT=8000"; \
	  echo "DC_ENVIRONMENT=development"; \
	  echo "DC_CORS_ORIGINS=http://127.0.0.1:8050"; \
	  echo "DC_ACCESS_LOG_LEVEL=WARNING"; \
	  echo "DC_DEMO_ADMIN_PASSWORD=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(18))')"; \
	} > $(DEMO_ENV)
	@echo "wrote $(DEMO_ENV) (a fresh signing secret and demo admin password; kept out of git)"

demo: install $(DEMO_ENV)
	@# a var/demo.env written by an older checkout has no admin password yet
	@grep -q '^DC_DEMO_ADMIN_PASSWORD=.' $(DEMO_ENV) || { \
	  umask 077; \
	  echo "DC_DEMO_ADMIN_PASSWORD=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(18))')" >> $(DEMO_ENV); \
	  echo "added a demo admin password to $(DEMO_ENV)"; \
	}
	@# the dashboard's live log panel opens the API's WebSocket from http://127.0.0.1:8050
	@grep -q '^DC_CORS_ORIGINS=' $(DEMO_ENV) || { \
	  echo "DC_CORS_ORIGINS=http://127.0.0.1:8050" >> $(DEMO_ENV); \
	  echo "allowed the dashboard's origin in $(DEMO_ENV)"; \
	}
	@# the demo's terminal shows what matters, not one line per request
	@grep -q '^DC_ACCESS_LOG_LEVEL=' $(DEMO_ENV) || echo "DC_ACCESS_LOG_LEVEL=WARNING" >> $(DEMO_ENV)
	@DC_ENV_FILE=$(DEMO_ENV) $(BIN)/dcctl db upgrade
	@DC_ENV_FILE=$(DEMO_ENV) $(BIN)/dcctl demo seed --if-empty --live-agent
	@$(DEMO_PASSWORD) | DC_ENV_FILE=$(DEMO_ENV) $(BIN)/dcctl user create \
	  --email $(DEMO_ADMIN) --role admin --password-stdin --if-missing
	@password="$$($(DEMO_PASSWORD))"; \
	echo ""; \
	echo "  Data Collector Control (embedded demo)"; \
	echo "  Dashboard: http://127.0.0.1:8050/dashboard/  (sign in with the email and password below)"; \
	echo "  API:      http://127.0.0.1:8000/api/v1/apps  (needs a token: log in below)"; \
	echo "  API docs: http://127.0.0.1:8000/api/docs  (ReDoc: /api/redoc)"; \
	echo "  Health:   http://127.0.0.1:8000/api/v1/system/health"; \
	echo ""; \
	echo "  Login:    POST http://127.0.0.1:8000/api/v1/auth/token"; \
	echo "  Email:    $(DEMO_ADMIN)"; \
	echo "  Password: $$password  (kept in $(DEMO_ENV))"; \
	echo ""; \
	echo "  curl -s -X POST http://127.0.0.1:8000/api/v1/auth/token -H 'Content-Type: application/json' -d '{\"username\":\"$(DEMO_ADMIN)\",\"password\":\"$$password\"}'"; \
	echo ""; \
	echo "  Stop with Ctrl-C."; \
	echo ""
	@DC_ENV_FILE=$(DEMO_ENV) exec $(BIN)/dcctl serve --with-dashboard

bench: install services
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info
