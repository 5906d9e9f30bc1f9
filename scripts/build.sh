#!/usr/bin/env bash
# `npm run build` (and `npm pack`, through prepack): compiles src/ into dist/ and copies the files
# tsc does not emit (src/lab/agent.mjs, the lab's plain-JavaScript traffic agent, which the lab
# starts from beside lab/run.js). dist/ is rebuilt from nothing, so nothing of a deleted source
# survives in it; dist/.built is written last and tells bin/kairo.js that the build is complete.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist
npx --no-install tsc -p tsconfig.json
(cd src && find . -type f ! -name '*.ts' -exec cp --parents {} ../dist/ \;)
touch dist/.built
