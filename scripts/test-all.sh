#!/usr/bin/env bash
# Runs the whole test suite: type check, lint, generated-code freshness, then every test file on SQLite and again on
# PostgreSQL (EUCA_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test). node:test prints the summary CI reads.
# Tests that boot VMs and use no database run once (on SQLite): they test the data plane, not the database.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

echo "== typecheck"; tsc -p tsconfig.json --noEmit
echo "== lint"; eslint .
if [ -f tools/gen-api.ts ]; then echo "== generated code is current"; tsx tools/gen-api.ts --check; fi

mapfile -t unit < <(find src tools test -name '*.test.ts' -not -path 'test/e2e/*' 2>/dev/null | sort)
mapfile -t e2e < <(find test/e2e -name '*.test.ts' 2>/dev/null | sort)
# Files marked database-independent (real VMs, no database) run on the SQLite pass only, not again on PostgreSQL.
mapfile -t pgunit < <(grep -L '^// test-all: database-independent' "${unit[@]}")

# TAP goes to stdout as before; a spec report of each run goes to a file, and the failures it lists are printed again
# at the very end, so the last lines of a CI log always say which tests failed and why.
reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT
failed=()
run() {
  local label=$1; shift
  echo "== tests on $label ($# files)"
  node --import tsx --test --test-concurrency=2 --test-timeout=900000 \
    --test-reporter=tap --test-reporter-destination=stdout \
    --test-reporter=spec --test-reporter-destination="$reports/$label.txt" "$@" || failed+=("$label")
}

EUCA_TEST_DB=sqlite run sqlite "${unit[@]}"
EUCA_TEST_DB=postgres run postgres "${pgunit[@]}"
if [ ${#e2e[@]} -gt 0 ]; then
  EUCA_TEST_DB=sqlite run "end-to-end" "${e2e[@]}"
fi
if [ ${#failed[@]} -eq 0 ]; then echo "== all tests passed"; exit 0; fi
for label in "${failed[@]}"; do
  echo "== FAILED: tests on $label"
  if grep -q 'failing tests:' "$reports/$label.txt"; then
    sed -n '/failing tests:/,$p' "$reports/$label.txt" | head -c 20000
  else
    grep -n '✖' "$reports/$label.txt" | head -40
  fi
done
exit 1
