#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run: a clean clone, as root, CI=true). Installs what it
# needs when missing, type-checks, then runs the tiers in order and stops at the first that fails:
#   unit     npm run test:unit     pure: golden files, tracer, CLI, interpreters; no root, no apt
#   kernel   npm run test:kernel   root, nft, systemd-analyze: rulesets and deltas on the kernel, units
#   lab      npm run test:lab      root: the examples in network namespaces with real traffic, apply, guests
#   host     npm run test:host     root: a Debian root booted with systemd as PID 1 (systemd-nspawn); built once into /var/cache/kairo-host
#   package  npm run test:package  npm pack, npm install -g of the tarball, then kairo validate + lab run
# TEST_ONLY="test/unit/x.test.ts ..." runs just those files (after set-up and the type check).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
step() {
  local t0=$SECONDS
  echo "=== $1"
  shift
  "$@"
  echo "=== done in $((SECONDS - t0)) s"
}
step "typecheck (tsc -p tsconfig.check.json)" npx --no-install tsc -p tsconfig.check.json
if [ -n "${TEST_ONLY:-}" ]; then
  # shellcheck disable=SC2086 # a list of files
  exec node --import tsx --test --test-concurrency=1 $TEST_ONLY
fi
for tier in unit kernel lab host package; do
  step "$tier tier (npm run test:$tier)" npm run --silent "test:$tier"
done
