#!/usr/bin/env bash
# The mobile surface in one command: builds the carebank-ffi library for this machine, generates
# the Kotlin (android/) and Swift (ios/) bindings from it with the workspace's uniffi-bindgen, and
# runs the Kotlin tests on the JVM against the library just built. The relay tests sync through a
# carebank-relay this script starts on 127.0.0.1 (a free port, a temporary data directory) for a
# circle it makes up (an ed25519 centre key from openssl), and stops when the tests end.
#
#   scripts/mobile.sh            regenerate the committed bindings, then run the JVM tests
#   scripts/mobile.sh check      fail if the committed Kotlin or Swift bindings are stale
#   scripts/mobile.sh jvm-test   run the JVM tests (compiles the generated Kotlin, the idiomatic
#                                layer and the tests with kotlinc; JUnit 4 + JNA)
#   scripts/mobile.sh ci         check, then jvm-test (what CI runs)
#
# Installs what it lacks: the Kotlin compiler (npm package kotlin-compiler, into the cargo target
# dir, nothing global) and Debian's libjna-java and junit4 (apt-get, with sudo unless root).
# Needs: the Rust toolchain, Java 17+, npm, openssl, python3, curl, and apt-get if the jars are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

KOTLIN_VERSION=2.4.20
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
TOOLS="$TARGET/tools"
case "$(uname -s)" in
Darwin) LIB="$TARGET/debug/libcarebank_ffi.dylib" ;;
*) LIB="$TARGET/debug/libcarebank_ffi.so" ;;
esac
KOTLIN_GEN=android/src/main/kotlin/org/carebank/ffi
SWIFT_GEN=ios/Sources/Carebank/Generated
SWIFT_FFI=ios/Generated/include
JAVA_LIBS=/usr/share/java

step() { printf '\n==> %s\n' "$*"; }

build_library() {
    step "build carebank-ffi and uniffi-bindgen"
    cargo build --quiet -p carebank-ffi -p carebank-uniffi-bindgen
}

# generate ROOT: writes the bindings under ROOT in the repository's layout.
generate() {
    local root=$1 raw
    raw=$(mktemp -d)
    "$TARGET/debug/uniffi-bindgen" generate --library "$LIB" --language kotlin \
        --out-dir "$raw/kotlin" --no-format
    "$TARGET/debug/uniffi-bindgen" generate --library "$LIB" --language swift \
        --out-dir "$raw/swift" --no-format
    mkdir -p "$root/$KOTLIN_GEN" "$root/$SWIFT_GEN" "$root/$SWIFT_FFI"
    cp "$raw/kotlin/org/carebank/ffi/carebank_ffi.kt" "$root/$KOTLIN_GEN/"
    cp "$raw/swift/Carebank.swift" "$root/$SWIFT_GEN/"
    cp "$raw/swift/CarebankFFI.h" "$root/$SWIFT_FFI/"
    # Xcode looks for a module map by this name inside an XCFramework's headers.
    cp "$raw/swift/CarebankFFI.modulemap" "$root/$SWIFT_FFI/module.modulemap"
    rm -rf "$raw"
}

generated_files() {
    echo "$KOTLIN_GEN/carebank_ffi.kt" "$SWIFT_GEN/Carebank.swift" \
        "$SWIFT_FFI/CarebankFFI.h" "$SWIFT_FFI/module.modulemap"
}

regenerate() {
    build_library
    step "generate Kotlin and Swift bindings"
    generate "$PWD"
    generated_files | tr ' ' '\n'
}

check() {
    build_library
    step "check the committed bindings are current"
    local fresh stale=0
    fresh=$(mktemp -d)
    generate "$fresh"
    for f in $(generated_files); do
        if ! diff -u "$f" "$fresh/$f" >/dev/null 2>&1; then
            echo "stale: $f (run scripts/mobile.sh and commit the result)" >&2
            diff -u "$f" "$fresh/$f" | head -40 >&2 || true
            stale=1
        fi
    done
    rm -rf "$fresh"
    [ "$stale" = 0 ] || exit 1
    echo "bindings are current"
}

# apt_install PACKAGE...: Debian packages, with sudo unless root.
apt_install() {
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    [ -n "${APT_UPDATED:-}" ] || { $sudo apt-get update -qq && APT_UPDATED=1; }
    $sudo apt-get install -y -qq "$@"
}

install_tools() {
    step "tools: kotlinc $KOTLIN_VERSION, JNA, JUnit 4"
    command -v java >/dev/null || apt_install openjdk-17-jdk-headless
    command -v openssl >/dev/null || apt_install openssl
    command -v curl >/dev/null || apt_install curl
    KOTLINC="$TOOLS/kotlin-$KOTLIN_VERSION/node_modules/kotlin-compiler/bin/kotlinc"
    if [ ! -x "$KOTLINC" ]; then
        command -v npm >/dev/null || apt_install npm
        npm install --silent --no-audit --no-fund --prefix "$TOOLS/kotlin-$KOTLIN_VERSION" \
            "kotlin-compiler@$KOTLIN_VERSION"
    fi
    if [ ! -f "$JAVA_LIBS/jna.jar" ] || [ ! -f "$JAVA_LIBS/junit4.jar" ] || [ ! -f "$JAVA_LIBS/hamcrest-core.jar" ]; then
        apt_install libjna-java junit4
    fi
    KOTLIN_STDLIB="$(dirname "$KOTLINC")/../lib/kotlin-stdlib.jar"
}

RELAY_PID=""
RELAY_DIR=""

stop_relay() {
    if [ -n "$RELAY_PID" ]; then
        kill "$RELAY_PID" 2>/dev/null || true
        wait "$RELAY_PID" 2>/dev/null || true
        RELAY_PID=""
    fi
    [ -z "$RELAY_DIR" ] || rm -rf "$RELAY_DIR"
    RELAY_DIR=""
}

# start_relay: a relay on loopback for a new circle; sets RELAY_URL, RELAY_CIRCLE and
# RELAY_CENTRE_SECRET (the centre's 32-byte ed25519 seed, hex) for the JVM tests.
start_relay() {
    step "start carebank-relay on loopback"
    cargo build --quiet -p carebank-relay
    RELAY_DIR=$(mktemp -d)
    trap stop_relay EXIT
    openssl genpkey -algorithm ed25519 -outform DER -out "$RELAY_DIR/centre.der" 2>/dev/null
    # The last 32 bytes of the PKCS#8 and SubjectPublicKeyInfo encodings are the seed and the key.
    RELAY_CENTRE_SECRET=$(tail -c 32 "$RELAY_DIR/centre.der" | xxd -p -c 64)
    local centre_key port
    centre_key=$(openssl pkey -inform DER -in "$RELAY_DIR/centre.der" -pubout -outform DER | tail -c 32 | xxd -p -c 64)
    RELAY_CIRCLE=$(openssl rand -hex 16)
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    RELAY_URL="http://127.0.0.1:$port"
    RUST_LOG=warn "$TARGET/debug/carebank-relay" --listen "127.0.0.1:$port" --data "$RELAY_DIR/data" \
        --circle "$RELAY_CIRCLE:$centre_key" &
    RELAY_PID=$!
    for _ in $(seq 100); do
        if curl -fsS "$RELAY_URL/health" >/dev/null 2>&1; then
            echo "relay at $RELAY_URL for circle $RELAY_CIRCLE"
            return
        fi
        kill -0 "$RELAY_PID" 2>/dev/null || { echo "the relay exited" >&2; exit 1; }
        sleep 0.1
    done
    echo "the relay did not answer at $RELAY_URL" >&2
    exit 1
}

jvm_test() {
    install_tools
    build_library
    local out="$TARGET/jvm-test" deps classes tests
    deps="$JAVA_LIBS/jna.jar:$JAVA_LIBS/junit4.jar:$JAVA_LIBS/hamcrest-core.jar"
    rm -rf "$out" && mkdir -p "$out"
    # The tests run against the library just built, with the bindings generated from it now
    # (so they also pass while the committed bindings are being regenerated).
    generate "$out/gen"
    step "compile Kotlin: generated bindings, idiomatic layer, tests"
    # shellcheck disable=SC2046
    "$KOTLINC" -nowarn -jvm-target 17 -cp "$deps" -d "$out/classes" \
        "$out/gen/$KOTLIN_GEN/carebank_ffi.kt" \
        $(find android/src/main/kotlin/org/carebank -maxdepth 1 -name '*.kt') \
        $(find android/src/test/kotlin -name '*.kt')
    tests=$(cd android/src/test/kotlin && find . -name '*Test.kt' | sed 's|^\./||; s|\.kt$||; s|/|.|g' | sort)
    start_relay
    step "run JUnit on the JVM: $(echo $tests)"
    # shellcheck disable=SC2086
    java -Djna.library.path="$(dirname "$LIB")" -Dcarebank.relay.url="$RELAY_URL" \
        -Dcarebank.relay.circle="$RELAY_CIRCLE" -Dcarebank.relay.centre-secret="$RELAY_CENTRE_SECRET" \
        -cp "$out/classes:$KOTLIN_STDLIB:$deps" org.junit.runner.JUnitCore $tests
    stop_relay
}

case "${1:-regen}" in
regen) regenerate && jvm_test ;;
check) check ;;
jvm-test) jvm_test ;;
ci) check && jvm_test ;;
*) sed -n '2,14p' "$0" >&2 && exit 2 ;;
esac
