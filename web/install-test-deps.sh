#!/usr/bin/env bash
# Installs the browser tests' npm packages (playwright-core, pinned in package-lock.json) into
# web/node_modules, and nothing when they are already there and newer than the lock file.
# The browser itself is Debian's chromium (tools/install-deps.sh); nothing is downloaded here
# but the npm packages.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1; then
  echo "install-test-deps: npm is not installed; the browser tests will not run" >&2
  exit 0
fi
if [ -d node_modules ] && [ node_modules -nt package-lock.json ] && [ -e node_modules/playwright-core/package.json ]; then
  exit 0
fi
echo "install-test-deps: npm ci in web/"
npm ci --no-audit --no-fund
touch node_modules
