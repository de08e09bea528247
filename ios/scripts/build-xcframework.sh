#!/usr/bin/env bash
# Builds ios/CarebankFFI.xcframework on a Mac (Xcode and rustup needed): the Rust library as a
# static library for iOS devices, the iOS simulator (Apple silicon and Intel) and macOS (for
# `swift test`), with the generated C header and module map from ios/Generated/include.
#
#   ios/scripts/build-xcframework.sh              release build
#   PROFILE=dev ios/scripts/build-xcframework.sh  debug build
set -euo pipefail
cd "$(dirname "$0")/../.."

[ "$(uname -s)" = Darwin ] || { echo "build the XCFramework on a Mac (needs Xcode)" >&2; exit 1; }
PROFILE=${PROFILE:-release}
DIR=$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
OUT=ios/CarebankFFI.xcframework
TRIPLES="aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin"

# The committed bindings must match the library we are about to ship.
scripts/mobile.sh check

export IPHONEOS_DEPLOYMENT_TARGET=15.0 MACOSX_DEPLOYMENT_TARGET=12.0
# SQLCipher uses CommonCrypto on Apple targets (Package.swift links Security): no OpenSSL, and
# OPENSSL_DIR must stay unset, or it would link that libcrypto instead.
unset OPENSSL_DIR
for triple in $TRIPLES; do
    rustup target add "$triple" >/dev/null
    cargo build --profile "$PROFILE" -p carebank-ffi --target "$triple"
done

lib() { echo "$TARGET/$1/$DIR/libcarebank_ffi.a"; }
fat=$(mktemp -d)
mkdir -p "$fat/sim" "$fat/mac"
lipo -create "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)" -output "$fat/sim/libcarebank_ffi.a"
lipo -create "$(lib aarch64-apple-darwin)" "$(lib x86_64-apple-darwin)" -output "$fat/mac/libcarebank_ffi.a"

rm -rf "$OUT"
xcodebuild -create-xcframework \
    -library "$(lib aarch64-apple-ios)" -headers ios/Generated/include \
    -library "$fat/sim/libcarebank_ffi.a" -headers ios/Generated/include \
    -library "$fat/mac/libcarebank_ffi.a" -headers ios/Generated/include \
    -output "$OUT"
rm -rf "$fat"
echo "built $OUT; now: cd ios && swift test"
