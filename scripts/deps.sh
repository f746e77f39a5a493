#!/usr/bin/env bash
# deps.sh [build|test|dist]: installs the system packages calmkey needs, and
# only those that are missing. "build" is what compiling the desktop app needs;
# "test" adds what the test session needs (a Secret Service, D-Bus, a virtual
# display and tools to look at it); "dist" adds what make dist needs (the
# mingw-w64 cross-compiler, archivers, wixl and msitools for the MSI,
# osslsigncode to sign, and desktop-file-validate and openssl for its test).
# Quiet when nothing is missing.
set -euo pipefail

want=${1:-build}
build_pkgs=(gcc pkg-config libgl1-mesa-dev xorg-dev)
test_pkgs=(dbus dbus-x11 gnome-keyring libsecret-tools xvfb xdotool xclip x11-utils imagemagick tesseract-ocr tesseract-ocr-deu
           wine wine64 gcc-mingw-w64-x86-64)
dist_pkgs=(gcc-mingw-w64-x86-64 zip xz-utils desktop-file-utils wixl msitools osslsigncode openssl)

case "$(uname -s)" in
  Linux) ;;
  Darwin)
    echo "deps.sh: on macOS install the Xcode command line tools (xcode-select --install) and Go 1.26;"
    echo "         the keychain is the macOS Keychain, nothing else is needed. Then run: go build ./cmd/calmkey"
    exit 0 ;;
  MINGW*|MSYS*|CYGWIN*)
    echo "deps.sh: on Windows install Go 1.26 and a gcc toolchain (e.g. MSYS2 mingw-w64-x86_64-gcc) for cgo;"
    echo "         the keychain is the Windows Credential Manager. Then run: go build ./cmd/calmkey"
    exit 0 ;;
  *) echo "deps.sh: unsupported system $(uname -s); install gcc and the OpenGL/X11 headers by hand" >&2; exit 1 ;;
esac

if ! command -v go >/dev/null; then
  echo "deps.sh: Go is not on PATH; install Go 1.26 (https://go.dev/dl) and run again" >&2
  exit 1
fi
if ! command -v dpkg-query >/dev/null; then
  echo "deps.sh: this script installs with apt (Debian/Ubuntu); elsewhere install: ${build_pkgs[*]} ${test_pkgs[*]}" >&2
  exit 1
fi

pkgs=("${build_pkgs[@]}")
[ "$want" = test ] && pkgs+=("${test_pkgs[@]}")
[ "$want" = dist ] && pkgs+=("${dist_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps.sh: missing packages (${missing[*]}) and no sudo; install them as root" >&2; exit 1; }
  sudo=(sudo)
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
