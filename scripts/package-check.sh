#!/usr/bin/env bash
# The package as a user gets it: `npm pack` (prepack builds dist/), the tarball's contents checked,
# `npm install -g` of it into a temporary prefix, and the installed kairo run from elsewhere:
# validate the example and prove it in the lab (this needs root, like the lab tier).
# Usage: bash scripts/package-check.sh [SITE.yaml]   (default examples/home-router.yaml)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
site=$(realpath "${1:-examples/home-router.yaml}")
tmp=$(mktemp -d /tmp/kairo-package.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "package: npm pack (builds dist/)"
npm pack --silent --pack-destination "$tmp"
tgz=$(echo "$tmp"/kairo-*.tgz)
files=$(tar -tzf "$tgz" | sed 's|^package/||')
echo "package: $(basename "$tgz"): $(du -k "$tgz" | cut -f1) kB, $(echo "$files" | wc -l) files"
for want in bin/kairo.js dist/cli/main.js dist/lab/agent.mjs package.json README.md; do
  grep -qx "$want" <<<"$files" || { echo "package: $want is missing from the tarball" >&2; exit 1; }
done
if unwanted=$(grep -E '^(src|test|bench|examples|scripts)/|\.map$|pppoe-password' <<<"$files"); then
  echo "package: the tarball holds files it must not:" >&2
  echo "$unwanted" >&2
  exit 1
fi

echo "package: npm install -g --prefix $tmp/prefix $(basename "$tgz")"
npm install -g --prefix "$tmp/prefix" --no-audit --no-fund --loglevel=error "$tgz"
kairo=$tmp/prefix/bin/kairo
# Run from a directory outside the checkout, so nothing can come from it but the site file.
cd "$tmp"
if [ -e "$tmp/prefix/lib/node_modules/kairo/node_modules/tsx" ]; then echo "package: tsx was installed with the package" >&2; exit 1; fi
echo "package: kairo validate ${site#$repo/}"
"$kairo" validate "$site"
echo "package: kairo lab run ${site#$repo/}"
"$kairo" lab run "$site"
echo "package: ok"
