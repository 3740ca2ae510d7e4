#!/bin/sh
# Builds the release files of nai from a built binary (`make dist`):
#
#   OUTDIR/nai_VERSION_linux_ARCH.tar.gz   nai, nai-agent and nai-executor,
#                                          README.md, docs/operations.md
#                                          and contrib/ (units, configs,
#                                          completion, install scripts,
#                                          logging note), in one top folder;
#                                          contrib/install/install.sh installs it
#   OUTDIR/nai_DEBVERSION_ARCH.deb         the same as a Debian package (nfpm)
#
#   scripts/dist.sh BINARY OUTDIR
#
# BINARY is the CLI (bin/nai); the agent binary nai-agent and the per-job
# executor binary nai-executor must be beside it (make build makes all three).
# VERSION and DEBVERSION come from scripts/version.sh unless NAI_VERSION and
# NAI_DEB_VERSION are set; ARCH is the host's unless NAI_ARCH is. nfpm is
# $NFPM, else found on PATH (`make tools` installs it in bin/tools).
set -eu

die() {
	echo "dist.sh: $*" >&2
	exit 1
}

[ $# -eq 2 ] || die "usage: scripts/dist.sh BINARY OUTDIR"
binary=$1
out=$2
if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then
	die "binary $binary is not an executable file: run make build"
fi
case $binary in /*) ;; *) binary=$(pwd)/$binary ;; esac
agent=$(dirname "$binary")/nai-agent
if [ ! -f "$agent" ] || [ ! -x "$agent" ]; then
	die "the agent binary $agent is missing beside $binary: run make build"
fi
executor=$(dirname "$binary")/nai-executor
if [ ! -f "$executor" ] || [ ! -x "$executor" ]; then
	die "the executor binary $executor is missing beside $binary: run make build"
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/.."

version=${NAI_VERSION:-$(scripts/version.sh)}
debversion=${NAI_DEB_VERSION:-$(scripts/version.sh --deb)}
if [ -z "${NAI_ARCH:-}" ]; then
	case $(uname -m) in
	x86_64) NAI_ARCH=amd64 ;;
	aarch64) NAI_ARCH=arm64 ;;
	*) die "unknown machine $(uname -m): set NAI_ARCH" ;;
	esac
fi
nfpm=${NFPM:-$(command -v nfpm || true)}
if [ -z "$nfpm" ] || [ ! -x "$nfpm" ]; then
	die "nfpm not found: run make tools (or set NFPM)"
fi

name=nai_${version}_linux_${NAI_ARCH}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
top=$stage/$name
mkdir -p "$top/docs"
cp "$binary" "$top/nai"
cp "$agent" "$top/nai-agent"
cp "$executor" "$top/nai-executor"
chmod 0755 "$top/nai" "$top/nai-agent" "$top/nai-executor"
cp README.md "$top/"
cp docs/operations.md "$top/docs/"
for d in systemd config completion install logging; do
	mkdir -p "$top/contrib/$d"
	cp -p contrib/$d/* "$top/contrib/$d/"
done
# Reproducible: modes whatever the umask of the checkout, fixed owner,
# order and times (the commit's).
chmod -R go-w "$top"
mtime=$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)
tar -C "$stage" --owner=0 --group=0 --numeric-owner --sort=name --mtime="$mtime" \
	-czf "$out/$name.tar.gz" "$name"
echo "$out/$name.tar.gz"

# The .deb from the same staged files, plus the package scripts.
deb=$out/nai_${debversion}_${NAI_ARCH}.deb
rm -f "$deb"
cp -a "$top" "$stage/deb"
mkdir -p "$stage/deb/contrib/release"
cp -p contrib/release/* "$stage/deb/contrib/release/"
(
	cd "$stage/deb"
	NAI_DEB_VERSION=$debversion NAI_ARCH=$NAI_ARCH \
		"$nfpm" package --config contrib/release/nfpm.yaml --packager deb --target "$deb" >"$stage/nfpm.log" 2>&1
) || die "nfpm failed: $(cat "$stage/nfpm.log")"
echo "$deb"
