#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the Go module proxy into
# .cache/controlplane/<k8s>-<etcd>/ (skipped when cached, or when KUBEBUILDER_ASSETS /
# TEST_ASSET_KUBE_APISERVER / TEST_ASSET_ETCD name prebuilt binaries). Prints the timing.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
node --import tsx test/sandbox/build-controlplane.ts
echo "build-controlplane: $(( $(date +%s) - start )) s wall"
