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
manifests: ## Regenerate crds/*.yaml from the C# API types and copy them into the chart and config/crd.
	dotnet run --project tools/Passbox.CrdGen -c $(CONFIGURATION) -- crds
	bash hack/sync-chart-crds.sh

.PHONY: helm-lint
helm-lint: ## Check the CRD copies, lint the Helm chart, render it with the main variations and render config/default.
	bash hack/sync-chart-crds.sh --check
	"$(PASSBOX_CACHE)/bin/helm" lint --strict charts/passbox
	for v in "" "--set crds.enabled=false" "--set replicaCount=2" "--set metrics.serviceMonitor.enabled=true" "--set networkPolicy.enabled=true" "--set networkPolicy.enabled=true --set networkPolicy.ingressFrom[0].namespaceSelector.matchLabels.team=monitoring"; do \
	  "$(PASSBOX_CACHE)/bin/helm" template passbox charts/passbox -n passbox-system $$v >/dev/null; done
	"$(PASSBOX_CACHE)/bin/kubectl" kustomize config/default >/dev/null

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

.PHONY: demo
demo: deps build ## Walk-through on a local control plane + MariaDB: publish a Secret, block a deletion while a Job uses it.
	bash hack/demo.sh $(CONFIGURATION)

AOT_OUT ?= $(CURDIR)/.cache/aot

.PHONY: publish-aot
publish-aot: ## Publish the operator as a native AOT binary into .cache/aot (needs clang; several minutes); trim/AOT warnings fail it.
	cc=$$(command -v clang || command -v clang-19 || command -v clang-18 || command -v clang-17 || command -v clang-16 || command -v clang-15 || command -v clang-14 || true); \
	[[ -n $$cc ]] || { echo "publish-aot: no clang on PATH (apt-get install clang)" >&2; exit 1; }; \
	log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	dotnet publish operator -c $(CONFIGURATION) -r linux-x64 --nologo -p:PublishAot=true -p:CppCompilerAndLinker=$$(basename $$cc) -o "$(AOT_OUT)" | tee "$$log"; \
	bash hack/aot-warnings.sh "$$log"

.PHONY: bench-aot
bench-aot: publish-aot ## The benchmarks with the native AOT binary as the operator (BENCH_ARGS as for bench; use --label=…).
	dotnet build bench/Passbox.Bench -c Release --nologo -clp:ErrorsOnly
	BENCH_NATIVE_OPERATOR="$(AOT_OUT)/passbox-operator" dotnet bench/Passbox.Bench/bin/Release/net10.0/Passbox.Bench.dll --repo="$(CURDIR)" $(BENCH_ARGS)

.PHONY: aot-smoke
aot-smoke: publish-aot ## Run the native operator against a local control plane, MariaDB, git and a registry through the paths that depend on generated metadata.
	bash hack/aot-smoke.sh "$(AOT_OUT)/passbox-operator"

.PHONY: lint
lint: ## Check formatting and analyzers without building outputs.
	dotnet format Passbox.slnx --verify-no-changes

IMAGE_REPO ?= passbox-operator
IMAGE_TAG ?= dev
IMAGE_VARIANT ?= aot

.PHONY: docker-build
docker-build: ## Build the container image, native AOT by default (IMAGE_VARIANT=jit for the JIT build; needs a Docker engine, none exists on the CI machines).
	docker build --build-arg VARIANT=$(IMAGE_VARIANT) -t $(IMAGE_REPO):$(IMAGE_TAG) .

.PHONY: deploy
deploy: ## Install or upgrade Passbox with Helm into passbox-system on the current kubeconfig.
	"$(PASSBOX_CACHE)/bin/helm" upgrade --install passbox charts/passbox -n passbox-system --create-namespace \
	  --set image.repository=$(IMAGE_REPO) --set image.tag=$(IMAGE_TAG)

.PHONY: undeploy
undeploy: ## Uninstall the Helm release (the CRDs and credentials stay: crds.keep).
	"$(PASSBOX_CACHE)/bin/helm" uninstall passbox -n passbox-system

.PHONY: bench
bench: ## Benchmarks on a local control plane and MariaDB (not part of test; ~35 min; BENCH_ARGS for a quick run: see docs/benchmarks.md); writes docs/benchmarks.md and docs/benchmarks/*.csv.
	dotnet build bench/Passbox.Bench -c Release --nologo -clp:ErrorsOnly
	dotnet publish operator/Passbox.Operator.csproj -c Release --nologo -clp:ErrorsOnly -p:UseAppHost=false -o .cache/bench/operator
	dotnet bench/Passbox.Bench/bin/Release/net10.0/Passbox.Bench.dll --repo="$(CURDIR)" $(BENCH_ARGS)
