#!/usr/bin/env bash
# The main job: installs what is missing, then validates and renders the home example and shows
# the nftables ruleset it produces.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
example=${1:-examples/home-router.yaml}
node bin/kairo.js validate "$example"
node bin/kairo.js render "$example" --only nftables
