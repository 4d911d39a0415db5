# The two commands of the quick start: `make demo` and `make test`.
# Both set up everything they need on a fresh machine.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_ENV := var/demo.env
DEMO_ADMIN := admin@example.com
# The demo admin's password, from the last DC_DEMO_ADMIN_PASSWORD line of $(DEMO_ENV).
DEMO_PASSWORD = sed -n 's/^DC_DEMO_ADMIN_PASSWORD=//p' $(DEMO_ENV) | tail -n 1

.PHONY: demo test lint format install services browser bench clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found (Python 3.11 is required)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

services:
	@ops/ensure-services.sh

browser:
	@ops/install-browser.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install services browser lint
	$(BIN)/python -m pytest

$(DEMO_ENV):
	@mkdir -p var
	@umask 077; { \
	  echo "DC_JWT_SECRET=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(48))')"; \
	  echo "DC_DATABASE_URL=sqlite:///var/demo.sqlite3"; \
	  echo "DC_API_HOST=127.0.0.1"; \
	  echo "DC_API_PORT=8000"; \
	  echo "DC_ENVIRONMENT=development"; \
	  echo "DC_CORS_ORIGINS=http://127.0.0.1:8050"; \
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
	@DC_ENV_FILE=$(DEMO_ENV) $(BIN)/dcctl db upgrade
	@DC_ENV_FILE=$(DEMO_ENV) $(BIN)/dcctl demo seed --if-empty
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
