# flowprobe %post ($1: 1 = install, 2 = upgrade): the service account, its
# directories, the config file's group; the unit follows the system's presets
# (disabled unless a preset enables it). Same steps as the .deb's postinst.
if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers flowprobe.conf || :
elif ! getent passwd flowprobe >/dev/null; then
	useradd --system --user-group --home-dir /var/lib/flowprobe --no-create-home \
		--shell /usr/sbin/nologin --comment "flowprobe network flow prober" flowprobe || :
fi
if command -v systemd-tmpfiles >/dev/null 2>&1; then
	systemd-tmpfiles --create flowprobe.conf || :
else
	install -d -m 0750 -o root -g flowprobe /etc/flowprobe /etc/flowprobe/trust || :
	install -d -m 0700 -o flowprobe -g flowprobe /var/lib/flowprobe || :
fi
conf=/etc/flowprobe/flowprobe.toml
if [ -f "$conf" ] && [ "$(stat -c %g "$conf")" = 0 ]; then
	chgrp flowprobe "$conf" && chmod 0640 "$conf" || :
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
	if [ "$1" -eq 1 ]; then
		systemctl --no-reload preset flowprobe.service >/dev/null 2>&1 || :
	fi
fi
