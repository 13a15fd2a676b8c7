#!/usr/bin/env bash
# Installs the Debian 12 packages Backline needs, and nothing when they are all present.
# Needs root (or sudo) only when something is missing.
#
#   tools/install-deps.sh run     what `./run` needs: build the server and serve the content
#   tools/install-deps.sh test    run + what `./test` needs: GoogleTest/GoogleMock, Google
#                                 Benchmark, python3-jsonschema, Chromium, Node.js and the
#                                 browser tests' npm package (the default)
#   tools/install-deps.sh all     test + what `./test --all` needs: clang and its sanitizer and
#                                 libFuzzer runtimes, llvm-symbolizer
#   tools/install-deps.sh bench   test + valgrind (bench/*_instructions.sh)
#
# Every package the project builds or tests with is listed here, so that a fresh Debian 12 with
# nothing but git gets it all (tools/fresh-debian-check.sh proves that in a debootstrap root).
set -euo pipefail

profile="${1:-test}"
case "$profile" in
  run|test|all|bench) ;;
  *) echo "usage: tools/install-deps.sh [run|test|all|bench]" >&2; exit 2 ;;
esac

# ./run: the compiler and the libraries the `backline` executable links, and what it reads.
packages=(
  ca-certificates                       # HTTPS for apt mirrors and npm
  cmake g++ make pkg-config             # toolchain
  ccache                                # CMake compiles through it when installed
  libboost-dev                          # Boost.Beast / Boost.Asio (1.74)
  nlohmann-json3-dev                    # JSON
  libre2-dev                            # regular expressions for rules
  libsqlite3-dev                        # the embedded store
  libssl-dev openssl                    # TLS (serve --tls-cert/--tls-key), SHA-256
  libfasttext-dev                       # the red-flag classifier's model runs in the server
  libstemmer-dev                        # Snowball's English stemmer (engine/text.h)
  wamerican wbritish                    # word lists: spelling repair never changes real words
  wordnet-base                          # `backline concepts propose`: words for red-flag concepts
  gzip brotli                           # web/ files precompressed at build time (cmake/BacklineWeb.cmake)
)
if [ "$profile" != run ]; then
  packages+=(
    libgtest-dev libgmock-dev           # unit tests (GoogleTest and GoogleMock's matchers)
    libbenchmark-dev                    # micro-benchmarks, built with the tests
    python3 python3-jsonschema          # eval scoring; tests/schemas: shipped content files against schemas/
    fasttext                            # tools/train-classifier (and its --check, a CTest test)
    clang-format                        # tools/check-format (the CTest test layout.format)
    chromium                            # browser tests of the chat widget (web/tests), headless
  )
  # Node.js and npm run the browser tests. Debian's packages only when no node/npm is installed:
  # a Node.js from elsewhere (NodeSource, a tarball) already brings npm, and Debian's npm
  # package would conflict with it.
  if ! command -v node >/dev/null 2>&1; then packages+=(nodejs); fi
  if ! command -v npm >/dev/null 2>&1; then packages+=(npm); fi
fi
if [ "$profile" = all ]; then
  packages+=(
    clang libclang-rt-14-dev            # sanitizer builds and libFuzzer (./test --all)
    llvm-14                             # llvm-symbolizer: file:line in sanitizer reports
  )
fi
if [ "$profile" = bench ]; then
  packages+=(valgrind)                  # bench/engine_instructions.sh: instructions per turn
fi

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
if [ "$profile" != run ]; then
  "$(dirname "$0")/../web/install-test-deps.sh"
fi
