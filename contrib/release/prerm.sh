#!/bin/sh
# prerm of the nai .deb: stop the agents when the package is removed (not
# when it is upgraded: postinst restarts them then). A stopped client
# leaves its running jobs to finish (KillMode=process): drain the node
# first (`nai node drain NAME`, docs/operations.md) to move them.
set -e

if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
	for unit in nai-server.service nai-client.service; do
		systemctl disable --now "$unit" >/dev/null 2>&1 || true
	done
fi
exit 0
