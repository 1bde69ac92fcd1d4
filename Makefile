# Passbox — make help lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1
export PASSBOX_CACHE ?= $(HOME)/.cache/passbox

RESULTS := $(CURDIR)/.cache/test-results
CONFIGURATION ?= Release

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## Install what the tests need (Debian packages, kubectl, helm) and build the local control plane.
	bash hack/deps.sh
	bash hack/controlplane.sh build

.PHONY: build
build: ## Restore and build the solution (warnings are errors).
	dotnet build Passbox.slnx -c $(CONFIGURATION) --nologo -clp:ErrorsOnly

.PHONY: manifests
manifests: ## Regenerate crds/*.yaml from the C# API types.
	dotnet run --project tools/Passbox.CrdGen -c $(CONFIGURATION) -- crds

.PHONY: test
test: deps build ## Install everything needed, then run unit and integration tests (prints "N passed, N failed").
	rm -rf "$(RESULTS)"; mkdir -p "$(RESULTS)"
	status=0; \
	dotnet test tests/Passbox.Operator.Tests -c $(CONFIGURATION) --no-build --nologo \
	  --logger "trx;LogFileName=unit.trx" --results-directory "$(RESULTS)" || status=1; \
	dotnet test tests/Passbox.IntegrationTests -c $(CONFIGURATION) --no-build --nologo \
	  --logger "trx;LogFileName=integration.trx" --results-directory "$(RESULTS)" || status=1; \
	bash hack/test-summary.sh "$(RESULTS)" || status=1; \
	exit $$status

.PHONY: unit
unit: build ## Run only the fast unit tests (no servers needed).
	dotnet test tests/Passbox.Operator.Tests -c $(CONFIGURATION) --no-build --nologo

.PHONY: run
run: build ## Run the operator against the current kubeconfig, or a local control plane when none is configured.
	bash hack/run.sh $(CONFIGURATION)

.PHONY: lint
lint: ## Check formatting and analyzers without building outputs.
	dotnet format Passbox.slnx --verify-no-changes

.PHONY: docker-build
docker-build: ## Build the container image (needs a Docker engine; none exists on the CI machines).
	docker build -t passbox-operator:dev .
