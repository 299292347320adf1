#!/usr/bin/env bash
# Installs what the build and tests need; skips what is already present.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen-cli must match the wasm-bindgen in Cargo.lock exactly.
want_wb=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
# The binaries the Makefile uses: $CARGO_HOME/bin (cargo install puts them there).
cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
have_wb=$("$cargo_bin/wasm-bindgen" --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have_wb" != "$want_wb" ]; then
  log "installing wasm-bindgen-cli $want_wb (have: ${have_wb:-none})"
  cargo install wasm-bindgen-cli --version "$want_wb" --force
fi

want_wbuild=$(awk '/^name = "worker"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
have_wbuild=$("$cargo_bin/worker-build" --version 2>/dev/null || true)
if [ "$have_wbuild" != "$want_wbuild" ]; then
  log "installing worker-build $want_wbuild (have: ${have_wbuild:-none})"
  cargo install worker-build --version "$want_wbuild" --force
fi

# Chromium for the browser test (Debian's package; playwright-core drives it),
# with CJK fonts so Japanese renders in the screenshots.
if [ -z "${BORDERLESS_NO_BROWSER:-}" ] && { ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; }; then
  log "installing chromium and fonts-noto-cjk (apt)"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  else
    log "not root: install chromium yourself (apt-get install chromium) for the browser test"
  fi
fi

# Catalog validators for the translation round trip tests: xmllint (XLIFF
# against the OASIS XLIFF 2 core schema) and msgfmt (PO). The schema comes
# from Debian's php-symfony-translation package, unpacked (PHP not needed).
XSD_DIR=target/xliff-schema
if ! command -v xmllint >/dev/null 2>&1 || ! command -v msgfmt >/dev/null 2>&1; then
  log "installing libxml2-utils and gettext (apt)"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libxml2-utils gettext >/dev/null
  else
    log "not root: apt-get install libxml2-utils gettext yourself for the catalog tests"
  fi
fi
if [ ! -f "$XSD_DIR/xliff-core-2.0.xsd" ]; then
  log "unpacking the XLIFF 2 core schema (php-symfony-translation, apt)"
  tmp=$(mktemp -d)
  ( cd "$tmp" && { apt-get download php-symfony-translation >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get download php-symfony-translation >/dev/null 2>&1; }; } ) || true
  if ls "$tmp"/php-symfony-translation_*.deb >/dev/null 2>&1; then
    dpkg-deb -x "$tmp"/php-symfony-translation_*.deb "$tmp/x"
    schemas="$tmp/x/usr/share/php/Symfony/Component/Translation/Resources/schemas"
    mkdir -p "$XSD_DIR/informativeCopiesOf3rdPartySchemas/w3c"
    cp "$schemas/xliff-core-2.0.xsd" "$XSD_DIR/"
    cp "$schemas/xml.xsd" "$XSD_DIR/informativeCopiesOf3rdPartySchemas/w3c/xml.xsd"
  else
    log "could not download php-symfony-translation: the XLIFF schema test will fail"
  fi
  rm -rf "$tmp"
fi

# npm tools, pinned in package.json / package-lock.json, into ./node_modules.
if [ ! -x node_modules/.bin/wrangler ] || [ ! -x node_modules/.bin/wasm-opt ] \
   || [ ! -x node_modules/.bin/esbuild ] || [ ! -x node_modules/.bin/node ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dev dependencies"
  # `npm ci` refuses this lock file (npm 11 and workerd's per-platform
  # optional packages); `npm install` installs exactly the locked versions.
  npm install --no-audit --no-fund --loglevel=error
fi
