#!/usr/bin/env bash
# Stages the service orchestrator bundle in bundle/: the compiled SO and the
# shared lib, with the production dependencies only. Run after `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/service-orchestrator/main.js ] || { echo "bundle: run npm run build first" >&2; exit 1; }
find bundle -mindepth 1 -maxdepth 1 ! -name .gitignore ! -name README.md -exec rm -rf {} +
mkdir -p bundle/dist
cp -R dist/lib dist/service-orchestrator bundle/dist/
cp package.json package-lock.json bundle/
# The locked versions of the SO's own dependencies and nothing else: install
# the production tree from the lockfile (from the npm cache `npm ci` filled; no
# install scripts, the SO loads no native module), then prune what the SO
# does not use.
so_dependencies=(axios express prom-client winston yaml)
cd bundle
npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null
node -e '
  const fs = require("node:fs");
  const keep = process.argv.slice(1);
  const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
  pkg.name = "mesos-service-orchestrator";
  pkg.dependencies = Object.fromEntries(keep.map((name) => [name, pkg.dependencies[name]]));
  delete pkg.devDependencies;
  delete pkg.scripts;
  fs.writeFileSync("package.json", JSON.stringify(pkg, null, 2) + "\n");
' "${so_dependencies[@]}"
npm prune --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
find node_modules -mindepth 1 -maxdepth 1 -type d -empty -delete
cd ..
echo "bundle: $(du -sh bundle | cut -f1) in bundle/"
