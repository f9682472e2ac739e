#!/usr/bin/env bash
# One idempotent setup for nomaly: Debian packages + the ONNX Runtime 1.29.0 C/C++ SDK from npm.
# Run by `make quickstart` and `make test`. Safe to run again: it only installs what is missing.
set -euo pipefail

# Every Debian package the build, tests, benchmarks, fuzzers and quickstart need, in one place.
DEB_PACKAGES=(
  build-essential cmake make pkg-config git ca-certificates
  libonnx-dev libprotobuf-dev protobuf-compiler
  libeigen3-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsvm-dev libtorch-dev libtbb-dev libnanoflann-dev libspdlog-dev libssl-dev
  python3 python3-sklearn python3-numpy python3-matplotlib
  python3-dev pybind11-dev python3-pybind11 python3-pytest python3-pandas python3-dask python3-distributed
  python3-onnx python3-joblib python3-scipy python3-setuptools python3-wheel python3-pip python3-venv
  clang-14 libclang-rt-14-dev
  libcpp-httplib-dev hey wrk python3-fastapi python3-uvicorn python3-requests
)

ORT_VERSION=1.29.0
ORT_HEADERS_PKG=com.github.asus4.onnxruntime@0.4.9
ORT_LIB_PKG=onnxruntime-node@${ORT_VERSION}
CACHE_DIR="${NOMALY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nomaly}"
ORT_ROOT="$CACHE_DIR/onnxruntime-${ORT_VERSION}"

log() { printf '[setup] %s\n' "$*" >&2; }

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js + npm fetch the ONNX Runtime SDK and run deploy.mjs. A machine may already carry a newer Node
# with its own npm (which conflicts with Debian's npm package), so install Debian's only when the commands are absent.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "Debian packages: all present"
fi

if [ -f "$ORT_ROOT/lib/libonnxruntime.so.1" ] && [ -f "$ORT_ROOT/include/onnxruntime_cxx_api.h" ]; then
  log "ONNX Runtime ${ORT_VERSION}: cached at $ORT_ROOT"
else
  log "fetching ONNX Runtime ${ORT_VERSION} SDK from the npm registry into $ORT_ROOT"
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
  # npm pack verifies the registry's integrity hash for each tarball.
  (cd "$work" && npm pack --silent "$ORT_LIB_PKG" "$ORT_HEADERS_PKG" >/dev/null)
  mkdir -p "$work/lib" "$work/hdr"
  tar -xzf "$work"/onnxruntime-node-${ORT_VERSION}.tgz -C "$work/lib"
  tar -xzf "$work"/com.github.asus4.onnxruntime-0.4.9.tgz -C "$work/hdr"
  hdrs="$work/hdr/package/Plugins/iOS~/onnxruntime.xcframework/ios-arm64/onnxruntime.framework/Headers"
  so="$work/lib/package/bin/napi-v6/linux/x64/libonnxruntime.so.1"
  [ -f "$so" ] || { log "libonnxruntime.so.1 not found in $ORT_LIB_PKG"; exit 1; }
  grep -q "ORT_API_VERSION 2[0-9]" "$hdrs/onnxruntime_c_api.h" || { log "unexpected ORT headers"; exit 1; }
  rm -rf "$ORT_ROOT.tmp"; mkdir -p "$ORT_ROOT.tmp/include" "$ORT_ROOT.tmp/lib"
  cp "$hdrs"/*.h "$ORT_ROOT.tmp/include/"
  cp "$so" "$ORT_ROOT.tmp/lib/libonnxruntime.so.1"
  ln -sf libonnxruntime.so.1 "$ORT_ROOT.tmp/lib/libonnxruntime.so"
  # The node package also ships the runtime for deploy.mjs tests; keep it beside the SDK.
  mkdir -p "$ORT_ROOT.tmp/node"
  cp "$work"/onnxruntime-node-${ORT_VERSION}.tgz "$ORT_ROOT.tmp/node/"
  rm -rf "$ORT_ROOT"; mv "$ORT_ROOT.tmp" "$ORT_ROOT"
fi

# onnxruntime-node for the deploy.mjs test of export bundles: installed from the cached tarball into
# $CACHE_DIR/node-ort (--ignore-scripts: the postinstall only fetches optional CUDA binaries; the linux x64
# CPU binding ships in the package). Older caches lack the tarball: fetch it with npm pack once.
NODE_ORT_DIR="$CACHE_DIR/node-ort"
ORT_NODE_TGZ="$ORT_ROOT/node/onnxruntime-node-${ORT_VERSION}.tgz"
if [ -f "$NODE_ORT_DIR/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node" ]; then
  log "onnxruntime-node ${ORT_VERSION}: cached at $NODE_ORT_DIR"
else
  if [ ! -f "$ORT_NODE_TGZ" ]; then
    log "fetching $ORT_LIB_PKG for deploy.mjs tests"
    mkdir -p "$ORT_ROOT/node"
    (cd "$ORT_ROOT/node" && npm pack --silent "$ORT_LIB_PKG" >/dev/null)
  fi
  log "installing onnxruntime-node ${ORT_VERSION} into $NODE_ORT_DIR"
  mkdir -p "$NODE_ORT_DIR"
  [ -f "$NODE_ORT_DIR/package.json" ] || echo '{"private": true}' > "$NODE_ORT_DIR/package.json"
  (cd "$NODE_ORT_DIR" && npm install --no-audit --no-fund --ignore-scripts --silent "$ORT_NODE_TGZ" >/dev/null)
fi
echo "$ORT_ROOT"
