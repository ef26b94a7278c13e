# Callscope's front door. `make help` lists the targets; docs/local-stack.md explains the stack.
#
# Everything `make setup` installs lands in the git-ignored .local/ (servers, jars, tools) and
# .venv/ (Python). Each piece is rebuilt only when it is missing or its pin changed, so a second
# `make setup` takes seconds.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-print-directory

ROOT  := $(CURDIR)
LOCAL := $(ROOT)/.local
BIN   := $(LOCAL)/bin
STAMP := $(LOCAL)/stamps
VENV  := $(ROOT)/.venv
PY    := $(VENV)/bin/python
STACK := $(PY) deploy/local/stack.py

# ---- pins (bump here, or in the files named, and the next `make setup` rebuilds that piece) --
UV_VERSION    := 0.13.8
# MinIO tags releases RELEASE.<date>, which Go cannot use: pin the pseudo-version of a commit.
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
# kustomize renders deploy/k8s/ (make k8s-render, tests/unit/deploy). v5.8 needs Go 1.27.
KUSTOMIZE_VERSION := v5.7.1
# Kafka and log4j versions: deploy/local/kafka/pom.xml. FerretDB: deploy/local/ferretdb/go.mod.
KAFKA_POM     := deploy/local/kafka/pom.xml
KAFKA_VERSION := $(shell sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' $(KAFKA_POM))
FERRETDB_SRC  := $(addprefix deploy/local/ferretdb/,go.mod go.sum main.go)
GO_MIN        := 1.24

# Debian packages the services and tests need, as command:package.
APT_NEEDS := ffmpeg:ffmpeg sox:sox espeak-ng:espeak-ng sshd:openssh-server ssh:openssh-client \
             chromium:chromium \
             sftp:openssh-client java:openjdk-17-jre-headless mvn:maven
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# uv from PATH when there is one, else our own copy in .local/tools.
SYSTEM_UV := $(shell command -v uv 2>/dev/null)
UV        := $(or $(SYSTEM_UV),$(LOCAL)/tools/bin/uv)
UV_DEP    := $(if $(SYSTEM_UV),,$(LOCAL)/tools/bin/uv)

PYTEST_ARGS ?=
TEST_PROFILE ?= test
TYPECHECK_DIRS := $(wildcard libs services tests bench)

.PHONY: help setup run test test-faults lint format typecheck proto bench clean distclean \
        system-packages python-env kafka ferretdb minio kustomize k8s-render FORCE

help: ## list the targets
	@echo "Callscope — make <target>:"
	@grep -hE '^[a-z][a-z0-9-]*:.*## ' $(MAKEFILE_LIST) \
	  | awk 'BEGIN {FS = ":.*## "} {printf "  %-16s %s\n", $$1, $$2}'
	@echo "Variables: PYTEST_ARGS='-k foo -x' (make test), MONGODB_URL=mongodb://... (use that database)"

# ---------------------------------------------------------------------------------------------
# setup
# ---------------------------------------------------------------------------------------------

setup: system-packages python-env kafka ferretdb minio kustomize ## install everything (idempotent; seconds when ready)
	@echo "setup: ready (Kafka $(KAFKA_VERSION), FerretDB, MinIO, Python env in .venv)"

system-packages: ## apt-get install the Debian packages that are missing
	@missing=""; \
	for pair in $(APT_NEEDS); do \
	  cmd="$${pair%%:*}"; pkg="$${pair##*:}"; \
	  if ! command -v "$$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$$cmd" ]; then \
	    case " $$missing " in *" $$pkg "*) ;; *) missing="$$missing $$pkg";; esac; \
	  fi; \
	done; \
	if [ -n "$$missing" ]; then \
	  command -v apt-get >/dev/null || { echo "error: missing$$missing and no apt-get; install them by hand" >&2; exit 1; }; \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@command -v go >/dev/null || { echo "error: Go >= $(GO_MIN) is needed to build FerretDB and MinIO" >&2; exit 1; }
	@v="$$(go env GOVERSION | sed 's/^go//')"; \
	if [ "$$(printf '%s\n' "$(GO_MIN)" "$$v" | sort -V | head -1)" != "$(GO_MIN)" ]; then \
	  echo "error: Go $$v is too old; FerretDB and MinIO need Go >= $(GO_MIN)" >&2; exit 1; fi

# uv sync is idempotent and takes well under a second when nothing changed, so it always runs:
# the environment then follows uv.lock even after someone ran uv by hand.
python-env: | $(UV_DEP)
	@$(UV) sync --all-packages --frozen

$(LOCAL)/tools/bin/uv: $(STAMP)/uv.version
	python3 -m venv $(LOCAL)/tools
	$(LOCAL)/tools/bin/pip install -q uv==$(UV_VERSION)
	touch $@

kafka: $(LOCAL)/kafka/libs/.installed

$(LOCAL)/kafka/libs/.installed: $(KAFKA_POM)
	@echo "resolving Kafka $(KAFKA_VERSION) jars with Maven (first time: about a minute)"
	rm -rf $(LOCAL)/kafka/libs
	mvn -q -B -f $(KAFKA_POM) dependency:copy-dependencies \
	  -DoutputDirectory=$(LOCAL)/kafka/libs -DincludeScope=runtime
	rm -rf $(LOCAL)/kafka/*.jsa $(LOCAL)/kafka/*.tmp $(LOCAL)/kafka/formatted-*
	echo "$(KAFKA_VERSION)" > $@

ferretdb: $(BIN)/ferretdb

$(BIN)/ferretdb: $(FERRETDB_SRC)
	@echo "building FerretDB with go install (first time: a few minutes)"
	cd deploy/local/ferretdb && GOBIN=$(BIN) go install .
	touch $@

minio: $(BIN)/minio

$(BIN)/minio: $(STAMP)/minio.version
	@echo "building MinIO $(MINIO_VERSION) with go install (first time: several minutes)"
	GOBIN=$(BIN) go install github.com/minio/minio@$(MINIO_VERSION)
	touch $@

kustomize: $(BIN)/kustomize

$(BIN)/kustomize: $(STAMP)/kustomize.version
	@echo "building kustomize $(KUSTOMIZE_VERSION) with go install (first time: a minute or two)"
	GOBIN=$(BIN) go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
	touch $@

# A pin file is rewritten (and so triggers a rebuild of what depends on it) only when the
# version it holds changes; `FORCE` makes make look at it on every run.
define write-pin
@mkdir -p $(dir $2); [ "$$(cat $2 2>/dev/null)" = "$1" ] || echo "$1" > $2
endef

$(STAMP)/uv.version: FORCE
	$(call write-pin,$(UV_VERSION),$@)

$(STAMP)/minio.version: FORCE
	$(call write-pin,$(MINIO_VERSION),$@)

$(STAMP)/kustomize.version: FORCE
	$(call write-pin,$(KUSTOMIZE_VERSION),$@)

FORCE:

# ---------------------------------------------------------------------------------------------
# run / test / bench
# ---------------------------------------------------------------------------------------------

run: setup ## start Kafka, FerretDB, MinIO and the five services; prints the login (Ctrl-C stops)
	$(STACK) run

test: setup ## run every test tier against freshly started servers (PYTEST_ARGS=... passes through)
	$(STACK) exec --profile $(TEST_PROFILE) -- $(VENV)/bin/pytest $(PYTEST_ARGS)

# The fault suite starts, kills and restarts servers of its own (the `faults` profile), so it runs
# pytest directly rather than inside `$(STACK) exec`, whose servers it would not use. It is left
# out of `make test` (pyproject.toml: -m "not faults"): it takes longer than the CI budget allows.
test-faults: setup ## the fault-injection suite alone (200 calls per fault; see docs/testing.md)
	$(VENV)/bin/pytest -m faults tests/faults $(PYTEST_ARGS)

K8S_TARGET ?= overlays/prod
k8s-render: kustomize ## print deploy/k8s rendered (K8S_TARGET=overlays/dev|prod|gpu, or base)
	@$(BIN)/kustomize build deploy/k8s/$(K8S_TARGET)

bench: setup ## run every bench/*.py against the test servers
	@if compgen -G 'bench/*.py' >/dev/null; then \
	  $(STACK) exec --profile test -- bash -euo pipefail -c \
	    'for f in bench/*.py; do echo "== $$f"; $(PY) "$$f"; done'; \
	else echo "no benchmarks under bench/ yet"; fi

# ---------------------------------------------------------------------------------------------
# code quality
# ---------------------------------------------------------------------------------------------

lint: python-env ## ruff check + ruff format --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: python-env ## ruff format + safe autofixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: python-env ## mypy --strict (settings in pyproject.toml)
	$(VENV)/bin/mypy $(TYPECHECK_DIRS)

proto: python-env ## regenerate the Python contracts from proto/
	$(UV) run --frozen --all-packages python scripts/gen_proto.py

# ---------------------------------------------------------------------------------------------
# housekeeping
# ---------------------------------------------------------------------------------------------

clean: ## delete the servers' data and logs (.local/data)
	rm -rf $(LOCAL)/data

distclean: clean ## also delete everything `make setup` installed under .local (not .venv)
	rm -rf $(LOCAL)
