# tfe-operator. `make help` lists the targets.
SHELL := /bin/bash
NODE_TS := node --import tsx

.PHONY: help setup build test sandbox-up sandbox-down controlplane

help: ## list targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

build: ## compile src/ to dist/ (tsc)
	npm run build

setup: ## what make test needs, each step only when missing: Debian and Python packages, npm ci, control plane (scripts/setup.sh)
	scripts/setup.sh test

test: ## set up (scripts/setup.sh), start a test sandbox, run every test file, print "N passed, N failed" (FILTER=words to select files)
	scripts/setup.sh test
	$(NODE_TS) test/run.ts $(FILTER)

controlplane: ## build (or find cached) kube-apiserver + etcd into .cache/controlplane/
	scripts/build-controlplane.sh

sandbox-up: ## start the sandbox in $${SANDBOX_DIR:-.sandbox} (idempotent), then: source .sandbox/env
	scripts/setup.sh demo
	$(NODE_TS) test/sandbox/up.ts

sandbox-down: ## stop the sandbox and remove its directory
	$(NODE_TS) test/sandbox/down.ts

.PHONY: crds check-crds
crds: ## regenerate crds/*.yaml from src/api/schema.ts (commit the result)
	npm run --silent gen:crd

check-crds: ## fail when crds/*.yaml differs from what src/api/schema.ts generates
	npm run --silent check:crd

.PHONY: argocd-check
argocd-check: ## Argo CD's own util/lua tests and argocd-cm loading over argocd/ (argo-cd from the Go module proxy, cached in .cache/argocd-harness/)
	$(NODE_TS) scripts/argocd-harness.ts

.PHONY: lint-manifests
lint-manifests: ## kube-score and checkov over manifests/ (kubectl kustomize) and crds/; exceptions with reasons in tools/*/exceptions.yaml
	$(NODE_TS) scripts/kube-score.ts
	$(NODE_TS) scripts/checkov.ts

.PHONY: image
image: ## build the unchanged Dockerfile with buildah into localhost/tfe-operator:dev (stand-in base from mmdebstrap + the npm registry; needs root)
	scripts/build-image.sh

.PHONY: demo bench
demo: ## the whole migration on the local sandbox: set-up, sandbox-up, operator, apply the example, watch until Ready
	scripts/setup.sh demo
	$(NODE_TS) scripts/demo.ts
# The benchmarks run the compiled operator with the image's node flags, as a pod does.
BENCH_ENV := TFE_OPERATOR_ENTRY=$(CURDIR)/dist/main.js BENCH_REPORT=$(CURDIR)/.bench/report.txt AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
bench: build ## benchmarks (not tests): migration ratio, failover, N=1/100/1000 Ready clusters (BENCH_SCALE_ARGS), spec-change reaction; one report in .bench/report.txt
	$(BENCH_ENV) $(NODE_TS) bench/report.ts --start
	$(BENCH_ENV) $(NODE_TS) bench/migration.ts
	$(BENCH_ENV) $(NODE_TS) bench/failover.ts
	$(BENCH_ENV) $(NODE_TS) bench/scale.ts $(BENCH_SCALE_ARGS)
	$(BENCH_ENV) $(NODE_TS) bench/reaction.ts
	@echo; echo '==== the whole report (.bench/report.txt) ===='; cat .bench/report.txt
