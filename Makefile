# tfe-operator. `make help` lists the targets.
SHELL := /bin/bash
NODE_TS := node --import tsx

.PHONY: help build test sandbox-up sandbox-down controlplane

help: ## list targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

build: ## compile src/ to dist/ (tsc)
	npm run build

test: ## start a test sandbox, run every test file, print "N passed, N failed" (FILTER=words to select files)
	$(NODE_TS) test/run.ts $(FILTER)

controlplane: ## build (or find cached) kube-apiserver + etcd into .cache/controlplane/
	scripts/build-controlplane.sh

sandbox-up: ## start the sandbox in $${SANDBOX_DIR:-.sandbox} (idempotent), then: source .sandbox/env
	$(NODE_TS) test/sandbox/up.ts

sandbox-down: ## stop the sandbox and remove its directory
	$(NODE_TS) test/sandbox/down.ts

.PHONY: crds check-crds
crds: ## regenerate crds/*.yaml from src/api/schema.ts (commit the result)
	npm run --silent gen:crd

check-crds: ## fail when crds/*.yaml differs from what src/api/schema.ts generates
	npm run --silent check:crd

.PHONY: demo bench
demo: ## the whole migration on the local sandbox: sandbox-up, operator, apply the example, watch until Ready
	$(NODE_TS) scripts/demo.ts
bench: ## benchmarks (not tests): migration ratio and AWS calls per step, failover, scale (BENCH_SCALE_ARGS='--sizes 1,100,1000'), spec-change reaction; prints tables
	$(NODE_TS) bench/migration.ts
	$(NODE_TS) bench/failover.ts
	$(NODE_TS) bench/scale.ts $(BENCH_SCALE_ARGS)
	$(NODE_TS) bench/reaction.ts
