#!/usr/bin/env bash
# The main job: installs what is missing, then proves the home example on this kernel: validates
# it, brings its lab up in network namespaces (router, ISP, LAN client), applies the rendered
# files, runs its checks with real traffic, prints the table and tears the lab down.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
example=${1:-examples/home-router.yaml}
node bin/kairo.js validate "$example"
exec node bin/kairo.js lab run "$example"
