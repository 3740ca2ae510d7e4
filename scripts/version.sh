#!/bin/sh
# Prints nai's version from git, for `make` to stamp into the binary and
# name the release files.
#
#   scripts/version.sh        1.2.0 on the tag v1.2.0; 1.2.0-3-gabc1234 three
#                             commits later; "-dirty" with uncommitted changes;
#                             0.0.0-N-gabc1234 before the first tag; 0.0.0-dev
#                             outside a git checkout
#   scripts/version.sh --deb  the same as a Debian version, which must sort
#                             after the tag: 1.2.0+3.gabc1234, 1.2.0+dirty
set -eu

cd "$(dirname "$0")/.."
v=""
if git rev-parse --git-dir >/dev/null 2>&1; then
	if ! v=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null); then
		count=$(git rev-list --count HEAD 2>/dev/null || echo 0)
		hash=$(git rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
		v="v0.0.0-$count-g$hash"
		if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
			v="$v-dirty"
		fi
	fi
	v=${v#v}
else
	v="0.0.0-dev"
fi

case "${1:-}" in
"") echo "$v" ;;
--deb)
	# 1.2.0-3-gabc1234-dirty -> 1.2.0+3.gabc1234.dirty; 1.2.0-dirty -> 1.2.0+dirty
	echo "$v" | sed -E 's/-([0-9]+)-g([0-9a-f]+)/+\1.g\2/; s/\+(.*)-dirty$/+\1.dirty/; s/-dirty$/+dirty/; s/-dev$/+dev/'
	;;
*)
	echo "usage: $0 [--deb]" >&2
	exit 2
	;;
esac
