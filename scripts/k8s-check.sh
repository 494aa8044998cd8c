#!/usr/bin/env bash
# Validates deploy/k8s/*.yaml offline against the Kubernetes API schemas
# (kubernetes-validate bundles them; no cluster needed), strictly: an unknown
# field is an error. Installs the validator once into a virtualenv under
# ~/.cache (K8S_VALIDATE_ROOT).
set -euo pipefail
cd "$(dirname "$0")/.."
root="${K8S_VALIDATE_ROOT:-$HOME/.cache/anomaly-k8s-validate}"
version="1.37.0"
if ! "$root/bin/kubernetes-validate" --version 2>/dev/null | grep -q "$version"; then
  command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  }
  python3 -m venv "$root"
  "$root/bin/pip" install --quiet "kubernetes-validate==$version"
fi
# Manifests other than the kustomization itself, against Kubernetes 1.31.
files=$(ls deploy/k8s/*.yaml | grep -v kustomization.yaml)
"$root/bin/kubernetes-validate" --strict --kubernetes-version 1.31 $files
