#!/bin/sh
# Copies uPlot, the web UI's one third-party file, from its npm package
# into ui/static/vendor/uplot with its licence. Run by hand when upgrading
# (npm is needed here only; `make build` and `make test` never run it).
# Usage: scripts/vendor-ui.sh [VERSION]
set -eu
version="${1:-1.6.32}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/ui/static/vendor/uplot"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "uplot@$version" >/dev/null && tar xzf "uplot-$version.tgz")
mkdir -p "$dest"
cp "$tmp/package/dist/uPlot.esm.js" "$tmp/package/dist/uPlot.min.css" "$tmp/package/LICENSE" "$dest/"
echo "uPlot $version" > "$dest/VERSION"
echo "vendored uPlot $version into $dest"
