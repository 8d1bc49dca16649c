#!/bin/sh
# ctest wrapper for validate.mjs: exit 77 (skipped) when node or the schema package is missing.
#   run_schema_check.sh <node_modules dir> <golden dir>
# Install the package with: cmake --build <build> --target kubernetes_schema_deps
# (npm install --prefix <build>/kubernetes-schema kubernetes-models@5.1.0).
set -u
here=$(dirname "$0")
if ! command -v node >/dev/null 2>&1; then
  echo "SKIP: node is not installed (apt-get install nodejs npm)"
  exit 77
fi
if [ ! -f "$1/kubernetes-models/package.json" ]; then
  echo "SKIP: kubernetes-models is not installed in $1 (build the kubernetes_schema_deps target)"
  exit 77
fi
exec node "$here/validate.mjs" "$1" "$2"
