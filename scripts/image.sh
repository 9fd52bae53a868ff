#!/usr/bin/env bash
# Builds the service orchestrator image (npm run image) from the compiled
# tree in dist/. The base image is SO_BASE_IMAGE if set, else the official
# node:20-bookworm-slim when it is present locally, else a local base made
# from this host's node binary (scripts/base-image.sh).
#
# An image built from the same sources is kept. With --if-engine, a machine
# without a reachable Docker engine is not an error: there is nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${SO_IMAGE:-mesos-so:latest}

if [ "${1:-}" = "--if-engine" ] && ! docker info >/dev/null 2>&1; then
  exit 0
fi

source_hash=$(
  { cat Dockerfile .dockerignore package-lock.json scripts/bundle.sh
    find dist/lib dist/service-orchestrator -type f -name '*.js' | LC_ALL=C sort | xargs cat; } | sha256sum | cut -c1-16
)
if [ "$(docker image inspect "$tag" --format '{{ index .Config.Labels "mesos-so.source" }}' 2>/dev/null)" = "$source_hash" ]; then
  echo "image: $tag is up to date"
  exit 0
fi

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
if ! out=$(DOCKER_BUILDKIT=0 docker build --network host --build-arg "BASE_IMAGE=$base" \
  --label "mesos-so.source=$source_hash" -t "$tag" . 2>&1); then
  echo "$out" >&2
  exit 1
fi
echo "image: $tag on $base, $(docker image inspect "$tag" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')"
