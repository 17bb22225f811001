# flowprobe %postun ($1: 0 = erase, 1 = upgrade): restart a running service on
# upgrade. The account and /etc/flowprobe stay (RPM convention).
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
	if [ "$1" -ge 1 ]; then
		systemctl try-restart flowprobe.service >/dev/null 2>&1 || :
	fi
fi
