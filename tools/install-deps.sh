#!/usr/bin/env bash
# Installs the Debian 12 packages Backline needs to build and test, and nothing when they are
# all present. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  cmake g++ make pkg-config            # toolchain
  libboost-dev                          # Boost.Beast / Boost.Asio (1.74, header-only)
  nlohmann-json3-dev                    # JSON
  libre2-dev                            # regular expressions for rules
  libsqlite3-dev                        # the embedded store
  libssl-dev openssl                    # TLS (serve --tls-cert/--tls-key); tests make certs
  libgtest-dev                          # unit tests
  libbenchmark-dev                      # micro-benchmarks
  valgrind                              # bench/engine_instructions.sh: instructions per turn
  python3                               # helper scripts (eval scoring, tooling)
  python3-jsonschema                    # tests/schemas: shipped content files against schemas/
  wamerican wbritish                    # word lists: spelling repair never changes real words
  chromium                              # browser tests of the chat widget (web/tests), headless
  clang libclang-rt-14-dev              # sanitizer builds and libFuzzer (./test, tests/fuzz)
  llvm-14                               # llvm-symbolizer: file:line in sanitizer reports
  ccache                                # CMake compiles through it when installed
)
# Node.js and npm run the browser tests. Debian's packages only when no node/npm is installed:
# a Node.js from elsewhere (NodeSource, a tarball) already brings npm, and Debian's npm
# package would conflict with it.
if ! command -v node >/dev/null 2>&1; then packages+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then packages+=(npm); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -ne 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      as_root=(sudo)
    else
      echo "install-deps: these packages are missing and this needs root: ${missing[*]}" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The browser tests' npm packages (web/package-lock.json), when missing or out of date.
"$(dirname "$0")/../web/install-test-deps.sh"
