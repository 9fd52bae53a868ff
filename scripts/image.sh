#!/usr/bin/env bash
# Builds the service orchestrator image (npm run image). The base image is
# SO_BASE_IMAGE if set, else the official node:20-bookworm-slim when it is
# present locally, else a local base made from this host's node binary.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${SO_IMAGE:-mesos-so:latest}
official=node:20-bookworm-slim
local_base=mesos-so-base:node20
base=${SO_BASE_IMAGE:-}
if [ -z "$base" ]; then
  if docker image inspect "$official" >/dev/null 2>&1; then
    base=$official
  else
    base=$local_base
    docker image inspect "$base" >/dev/null 2>&1 || bash scripts/base-image.sh "$base"
  fi
fi
bash scripts/bundle.sh
# The classic builder: BuildKit (buildx) is often not installed with the engine.
if ! out=$(DOCKER_BUILDKIT=0 docker build --network host --build-arg "BASE_IMAGE=$base" -t "$tag" . 2>&1); then
  echo "$out" >&2
  exit 1
fi
echo "image: $tag on $base, $(docker image inspect "$tag" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')"
