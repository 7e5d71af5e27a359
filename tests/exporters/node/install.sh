#!/bin/sh
# Install the pinned Node readers (package.json beside this script) into a throw-away folder:
#   sh tests/exporters/node/install.sh /tmp/envman-node-tools
#   export ENVMAN_NODE_TOOLS=/tmp/envman-node-tools
set -eu
dest=${1:?usage: install.sh FOLDER}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dest"
cp "$here/package.json" "$dest/package.json"
npm install --prefix "$dest" --no-audit --no-fund --no-package-lock --loglevel=error >&2
