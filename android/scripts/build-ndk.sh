#!/usr/bin/env bash
# Builds libcarebank_ffi.so for Android with cargo-ndk into android/src/main/jniLibs/<abi>/, where
# the Gradle module picks it up. Needs an Android NDK (r26 or newer; ANDROID_NDK_HOME or the SDK's
# ndk/ folder) and cargo-ndk (`cargo install cargo-ndk`). Not run in CI: no NDK there.
#
#   android/scripts/build-ndk.sh                  release build for arm64-v8a, armeabi-v7a, x86_64
#   ABIS="arm64-v8a" PROFILE=dev android/scripts/build-ndk.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

ABIS=${ABIS:-"arm64-v8a armeabi-v7a x86_64"}
PROFILE=${PROFILE:-release}
MIN_SDK=26

if [ -z "${ANDROID_NDK_HOME:-}" ] && [ -n "${ANDROID_HOME:-}" ] && [ -d "$ANDROID_HOME/ndk" ]; then
    ANDROID_NDK_HOME="$ANDROID_HOME/ndk/$(ls "$ANDROID_HOME/ndk" | sort -V | tail -1)"
    export ANDROID_NDK_HOME
fi
if [ -z "${ANDROID_NDK_HOME:-}" ] || [ ! -d "$ANDROID_NDK_HOME" ]; then
    echo "no Android NDK: set ANDROID_NDK_HOME (or ANDROID_HOME with an ndk/ folder)" >&2
    exit 1
fi
command -v cargo-ndk >/dev/null || { echo "cargo-ndk missing: cargo install cargo-ndk" >&2; exit 1; }

args=()
for abi in $ABIS; do
    case "$abi" in
    arm64-v8a) triple=aarch64-linux-android ;;
    armeabi-v7a) triple=armv7-linux-androideabi ;;
    x86_64) triple=x86_64-linux-android ;;
    x86) triple=i686-linux-android ;;
    *) echo "unknown ABI $abi" >&2; exit 1 ;;
    esac
    rustup target add "$triple" >/dev/null
    # 16 KB pages (required for apps targeting Android 15+ on such devices).
    var="CARGO_TARGET_$(echo "$triple" | tr 'a-z-' 'A-Z_')_RUSTFLAGS"
    export "$var=-C link-arg=-Wl,-z,max-page-size=16384"
    args+=(-t "$abi")
done

# SQLCipher's crypto: OpenSSL built from source and linked statically (the NDK has no libcrypto).
cargo ndk "${args[@]}" --platform "$MIN_SDK" -o android/src/main/jniLibs \
    build --profile "$PROFILE" -p carebank-ffi --features vendored-openssl
find android/src/main/jniLibs -name 'libcarebank_ffi.so' -exec ls -l {} \;
