#!/bin/sh
# postinst of the nai .deb: the nai user for the server, its state
# directory, and systemd told about the units. Nothing is enabled or
# started: edit /etc/nai/server.hcl or client.hcl first, then
# `systemctl enable --now nai-server` (or nai-client).
set -e

if [ "$1" = configure ]; then
	if ! getent passwd nai >/dev/null; then
		getent group nai >/dev/null || groupadd --system nai
		useradd --system --gid nai --home-dir /var/lib/nai --no-create-home \
			--shell /usr/sbin/nologin --comment "nai server" nai
	fi
	mkdir -p /var/lib/nai/server /var/lib/nai/client
	chmod 0750 /var/lib/nai/server
	# Walked through (not listed) by the tasks' accounts to their work dirs.
	chmod 0711 /var/lib/nai/client
	chown -R nai:nai /var/lib/nai/server
	chgrp nai /etc/nai/server.hcl
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload >/dev/null || true
		# An upgrade: restart what runs, with the new binary. The client's
		# jobs keep running (KillMode=process) and are taken back.
		for unit in nai-server.service nai-client.service; do
			if systemctl is-active --quiet "$unit"; then
				systemctl restart "$unit" || true
			fi
		done
	fi
fi
exit 0
