#!/usr/bin/env bash
# The whole test suite: installs what it needs when missing, then runs unit, golden and lab tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx --no-install tsc -p tsconfig.check.json
files=$(find test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=1 ${TEST_ONLY:-$files}
