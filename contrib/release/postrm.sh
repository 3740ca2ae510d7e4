#!/bin/sh
# postrm of the nai .deb: systemd forgets the units. Purging removes the
# state in /var/lib/nai (raft data, blobs, job directories) and the user.
set -e

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
if [ "$1" = purge ]; then
	rm -rf /var/lib/nai
	if getent passwd nai >/dev/null; then
		userdel nai >/dev/null 2>&1 || true
	fi
fi
exit 0
