#!/usr/bin/env bash
# Makes @tensorflow/tfjs-node usable, i.e. the `tensorflow` backend of @cascade-lab/tensor-ops.
#
#   tools/native-backend/setup.sh [--route auto|download|wheel] [--force]
#
# Idempotent: when the backend already loads and computes, it prints the summary line and exits
# (about 2 s). Otherwise:
#   1. puts @tensorflow/tfjs-node (an optionalDependency of packages/tensor-ops, pinned in the lock
#      file) back into node_modules without running its install script, if `npm ci` dropped it
#      because that script could not download libtensorflow;
#   2. route `download` (when storage.googleapis.com is reachable): runs the package's own
#      scripts/install.js, i.e. exactly what `npm install` does on a machine with internet;
#      route `wheel` (otherwise): takes libtensorflow and its C headers from the `tensorflow-cpu`
#      wheel on PyPI (pip download), unpacks them once into a cache, links them into the package's
#      deps/ folder and builds the addon from source against them (see ../shared/docs/ENVIRONMENT.md);
#   3. verifies with check.mjs and prints one line: backend, library version, device, matmul ok.
#
# Environment:
#   CASCADE_TF_WHEEL_DIR  folder holding tensorflow_cpu-2.21.0-*.whl (used if present; the wheel is
#                         downloaded there when missing). Default: $CASCADE_TF_CACHE/wheel
#   CASCADE_TF_CACHE      where the libraries and headers are unpacked (about 860 MB).
#                         Default: ${XDG_CACHE_HOME:-$HOME/.cache}/cascade-lab/libtensorflow-2.21.0
#   CASCADE_TF_ROUTE      same as --route.
set -euo pipefail

TFJS_NODE_VERSION=4.22.0
TF_WHEEL_VERSION=2.21.0
# tfjs-node 4.22 looks for this exact file name before deciding to download.
TFJS_LIB_VERSION=2.9.1

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PKG="$ROOT/node_modules/@tensorflow/tfjs-node"
CACHE="${CASCADE_TF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cascade-lab/libtensorflow-$TF_WHEEL_VERSION}"
WHEEL_DIR="${CASCADE_TF_WHEEL_DIR:-$CACHE/wheel}"
ROUTE="${CASCADE_TF_ROUTE:-auto}"
FORCE=0

while [ $# -gt 0 ]; do
  case "$1" in
    --route) ROUTE="${2:?--route needs auto, download or wheel}"; shift 2 ;;
    --route=*) ROUTE="${1#--route=}"; shift ;;
    --force) FORCE=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "setup.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
case "$ROUTE" in auto|download|wheel) ;; *) echo "setup.sh: --route must be auto, download or wheel, got $ROUTE" >&2; exit 2 ;; esac

say() { echo "native-backend: $*" >&2; }
die() { echo "native-backend: error: $*" >&2; exit 1; }
T0=$(date +%s)

cd "$ROOT"
if [ "$FORCE" = 0 ] && node "$HERE/check.mjs" --quiet; then
  node "$HERE/check.mjs"
  exit 0
fi

# 1. The npm package itself.
if [ ! -f "$PKG/package.json" ]; then
  grep -q '"node_modules/@tensorflow/tfjs-node"' package-lock.json \
    || die "package-lock.json does not pin @tensorflow/tfjs-node (it is an optionalDependency of packages/tensor-ops)"
  say "adding @tensorflow/tfjs-node $TFJS_NODE_VERSION to node_modules from the lock file (install script skipped)"
  npm install --ignore-scripts --no-save --no-audit --no-fund --loglevel=error >&2
fi
[ -f "$PKG/package.json" ] || die "npm did not install @tensorflow/tfjs-node"
have_version="$(node -p "require('$PKG/package.json').version")"
[ "$have_version" = "$TFJS_NODE_VERSION" ] || die "node_modules has @tensorflow/tfjs-node $have_version, expected $TFJS_NODE_VERSION"

# Build tools for the addon: node-gyp (npm ships one), node headers (else node-gyp downloads them).
NPM_GYP_BIN="$(npm root -g 2>/dev/null)/npm/bin/node-gyp-bin"
export PATH="$ROOT/node_modules/.bin:$NPM_GYP_BIN:$PATH"
command -v node-gyp >/dev/null || die "node-gyp not found (looked in $NPM_GYP_BIN); install it with: npm install -g node-gyp"
NODEDIR="$(node -p "require('path').resolve(process.execPath, '..', '..')")"
if [ -f "$NODEDIR/include/node/node_api.h" ]; then
  export npm_config_nodedir="$NODEDIR"
else
  say "no Node headers under $NODEDIR/include/node; node-gyp will try to download them"
fi
for tool in python3 make g++; do command -v "$tool" >/dev/null || die "$tool is needed to build the addon"; done

if [ "$ROUTE" = auto ]; then
  if node -e "
    const req = require('https').request('https://storage.googleapis.com/tensorflow/libtensorflow/libtensorflow-cpu-linux-x86_64-$TFJS_LIB_VERSION.tar.gz', { method: 'HEAD', timeout: 8000 }, (res) => process.exit(res.statusCode === 200 ? 0 : 1));
    req.on('error', () => process.exit(1)); req.on('timeout', () => { req.destroy(); process.exit(1); }); req.end();"; then
    ROUTE=download
  else
    ROUTE=wheel
  fi
  say "storage.googleapis.com $([ $ROUTE = download ] && echo reachable || echo unreachable): route $ROUTE"
fi

# Clear a previous attempt of either route (deps/ and the built addon).
rm -rf "$PKG/deps" "$PKG/lib" "$PKG/build" "$PKG/scripts/custom-binary.json"

if [ "$ROUTE" = download ]; then
  # 2a. What `npm install @tensorflow/tfjs-node` does with internet access.
  (cd "$PKG" && node scripts/install.js) >&2 || die "scripts/install.js failed (download route); try --route wheel"
else
  # 2b. libtensorflow from the tensorflow-cpu wheel.
  [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || die "the wheel route is for Linux x86_64 only (here: $(uname -s)-$(uname -m))"
  if [ ! -f "$CACHE/.complete" ]; then
    wheel="$(ls "$WHEEL_DIR"/tensorflow_cpu-"$TF_WHEEL_VERSION"-*manylinux*x86_64.whl 2>/dev/null | head -n1 || true)"
    if [ -z "$wheel" ]; then
      say "downloading tensorflow-cpu==$TF_WHEEL_VERSION from PyPI into $WHEEL_DIR (about 270 MB)"
      mkdir -p "$WHEEL_DIR"
      # Any CPython build of the wheel carries the same libtensorflow; pin one so the download does
      # not depend on the local Python version.
      python3 -m pip download --no-deps --only-binary=:all: --platform manylinux_2_27_x86_64 \
        --python-version 3.11 --implementation cp --abi cp311 -d "$WHEEL_DIR" "tensorflow-cpu==$TF_WHEEL_VERSION" >&2 \
        || die "pip download tensorflow-cpu==$TF_WHEEL_VERSION failed (PyPI unreachable?); set CASCADE_TF_WHEEL_DIR to a folder holding the wheel"
      wheel="$(ls "$WHEEL_DIR"/tensorflow_cpu-"$TF_WHEEL_VERSION"-*manylinux*x86_64.whl | head -n1)"
    fi
    say "unpacking libtensorflow and the C API headers from $(basename "$wheel") into $CACHE"
    rm -rf "$CACHE/lib" "$CACHE/include" "$CACHE/.partial"
    mkdir -p "$CACHE/.partial"
    # The two libraries, plus the headers the addon's sources include (and what those include).
    python3 - "$wheel" "$CACHE/.partial" "$PKG/binding" <<'PY'
import os, re, sys, zipfile
wheel, out, binding = sys.argv[1:4]
z = zipfile.ZipFile(wheel)
names = set(z.namelist())
prefix = 'tensorflow/include/'
inc = re.compile(r'#include\s+["<]([^">]+)[">]')
todo = []
for f in os.listdir(binding):
    if f.endswith(('.cc', '.h')):
        todo += inc.findall(open(os.path.join(binding, f), encoding='utf-8').read())
headers = set()
while todo:
    h = todo.pop()
    if h in headers or prefix + h not in names:
        continue
    headers.add(h)
    todo += inc.findall(z.read(prefix + h).decode('utf-8'))
if 'tensorflow/c/c_api.h' not in headers:
    sys.exit('tensorflow/c/c_api.h not found in ' + wheel)
for h in headers:
    dest = os.path.join(out, 'include', h)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest, 'wb') as fh:
        fh.write(z.read(prefix + h))
os.makedirs(os.path.join(out, 'lib'), exist_ok=True)
for lib in ('libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'):
    with z.open('tensorflow/' + lib) as src, open(os.path.join(out, 'lib', lib), 'wb') as dst:
        while chunk := src.read(1 << 24):
            dst.write(chunk)
print(f'{len(headers)} headers, 2 libraries', file=sys.stderr)
PY
    mv "$CACHE/.partial/lib" "$CACHE/lib"
    mv "$CACHE/.partial/include" "$CACHE/include"
    rmdir "$CACHE/.partial"
    echo "tensorflow-cpu $TF_WHEEL_VERSION from $(basename "$wheel")" > "$CACHE/.complete"
  fi
  # tfjs-node links -ltensorflow -ltensorflow_framework and looks for libtensorflow.so.2.9.1; the
  # wheel's library (SONAME libtensorflow_cc.so.2) exports the whole C API, so every name points at it.
  mkdir -p "$PKG/deps/lib"
  ln -sfn "$CACHE/include" "$PKG/deps/include"
  for name in libtensorflow.so libtensorflow.so.2 "libtensorflow.so.$TFJS_LIB_VERSION" libtensorflow_cc.so.2; do
    ln -sfn "$CACHE/lib/libtensorflow_cc.so.2" "$PKG/deps/lib/$name"
  done
  for name in libtensorflow_framework.so libtensorflow_framework.so.2 "libtensorflow_framework.so.$TFJS_LIB_VERSION"; do
    ln -sfn "$CACHE/lib/libtensorflow_framework.so.2" "$PKG/deps/lib/$name"
  done
  # A custom tf-lib entry makes install.js build the addon from source (the library is already in
  # deps/, so nothing is downloaded) instead of first fetching a prebuilt addon made for 2.9.1.
  echo "{\"tf-lib\": \"file://$CACHE/lib\"}" > "$PKG/scripts/custom-binary.json"
  say "building the addon against libtensorflow $TF_WHEEL_VERSION (node-gyp, about 15 s)"
  (cd "$PKG" && node scripts/install.js) >&2 || die "building the tfjs-node addon failed (see the node-gyp output above)"
fi

# 3. Verify.
node "$HERE/check.mjs" || die "tfjs-node still does not load after the $ROUTE route"
say "done in $(( $(date +%s) - T0 )) s"
