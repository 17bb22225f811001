#!/usr/bin/env bash
# Builds the packages (scripts/package.sh) and checks them on this machine:
#   .deb: contents and conffiles; `dpkg -i`; the installed files, owners and
#   modes; the service account; `flowprobe config check` of the installed
#   example as the service user; `systemd-analyze verify` and `security
#   --offline=yes` (exposure <= MAX_EXPOSURE, default 1.5) on the installed
#   unit; `man -l` on every page and `man -w flowprobe`; the manual (README
#   and docs/) in /usr/share/doc/flowprobe; the bash completion;
#   reinstall and upgrade keep an edited conffile; `dpkg -r` keeps it; `dpkg
#   --purge` leaves nothing but the account (Debian policy keeps system users).
#   .rpm: `rpm -qlp` lists exactly the expected files, the config file is
#   %config(noreplace), the scriptlets create the account.
# Run as root on a machine where the flowprobe package is not installed (CI).
# Cleans up on exit, also on failure: purges the package, removes the account
# when this run created it.
# Needs: dpkg, rpm, systemd-analyze, man (man-db), runuser; scripts/install-deps.sh installs them.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
max_exposure=${MAX_EXPOSURE:-1.5}
tmp=$(mktemp -d /tmp/flowprobe-package-check.XXXXXX)
passed=0 failed=0 failures=()
installed=
user_existed=
getent passwd flowprobe >/dev/null && user_existed=1

cleanup() {
	local rc=$?
	if [ -n "$installed" ]; then
		dpkg --purge flowprobe >/dev/null 2>&1 || echo "cleanup: dpkg --purge flowprobe failed" >&2
	fi
	if [ -z "$user_existed" ] && getent passwd flowprobe >/dev/null; then
		userdel flowprobe >/dev/null 2>&1 || true
		getent group flowprobe >/dev/null && groupdel flowprobe >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { # step NAME COMMAND...: run, report, count
	local name=$1; shift
	if "$@" >"$tmp/out" 2>&1; then
		passed=$((passed + 1)); echo "ok   $name"
	else
		failed=$((failed + 1)); failures+=("$name"); echo "FAIL $name"
		sed 's/^/     | /' "$tmp/out"
	fi
}
ms() { date +%s%3N; }

[ "$(id -u)" = 0 ] || { echo "package check: must run as root" >&2; exit 1; }
for t in dpkg dpkg-deb rpm rpmbuild systemd-analyze man runuser objcopy objdump; do
	command -v "$t" >/dev/null || { echo "package check: missing tool $t (scripts/install-deps.sh)" >&2; exit 1; }
done
if dpkg-query -W -f='${Status}' flowprobe 2>/dev/null | grep -q 'installed'; then
	echo "package check: the flowprobe package is installed on this machine; refusing to replace and purge it" >&2
	exit 1
fi

# --- build ----------------------------------------------------------------------
t0=$(ms)
scripts/package.sh >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; echo "package check: scripts/package.sh failed" >&2; exit 1; }
t1=$(ms)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
deb=$(ls target/package/flowprobe_"$version"-1_*.deb)
rpm=$(ls target/package/flowprobe-"$version"-1.*.rpm)
echo "note built $deb and $rpm in $(( (t1 - t0) / 1000 )).$(( (t1 - t0) % 1000 / 100 )) s (scripts/package.sh)"

# The package's files, one list for both formats. The .deb puts the zsh
# completion in vendor-completions and the copyright file in /usr/share/doc;
# the .rpm puts the licences in /usr/share/licenses.
pages="flowprobe flowprobe-run flowprobe-check flowprobe-config flowprobe-config-check flowprobe-config-show flowprobe-catalog flowprobe-pki flowprobe-pki-check flowprobe-profile flowprobe-profile-check flowprobe-completions"
common() {
	cat <<-'EOF'
	/etc/flowprobe/flowprobe.toml
	/usr/bin/flowprobe
	/usr/lib/systemd/system/flowprobe.service
	/usr/lib/sysusers.d/flowprobe.conf
	/usr/lib/tmpfiles.d/flowprobe.conf
	/usr/share/bash-completion/completions/flowprobe
	/usr/share/fish/vendor_completions.d/flowprobe.fish
	/usr/share/doc/flowprobe/DEPLOY.md
	/usr/share/doc/flowprobe/README.md
	/usr/share/doc/flowprobe/RUNBOOK.md
	/usr/share/flowprobe/alertmanager/alertmanager.yml
	/usr/share/flowprobe/examples/administrators.toml
	/usr/share/flowprobe/examples/mdm-server.toml
	/usr/share/flowprobe/examples/mobile-devices.toml
	/usr/share/flowprobe/grafana/flowprobe.json
	/usr/share/flowprobe/grafana/provisioning/dashboards/flowprobe.yml
	/usr/share/flowprobe/grafana/provisioning/datasources/prometheus.yml
	/usr/share/flowprobe/prometheus/flowprobe.rules.yml
	/usr/share/flowprobe/prometheus/prometheus.yml
	/usr/share/flowprobe/prometheus/targets/flowprobe-field.yml
	/usr/share/flowprobe/systemd/flowprobe.service.d/bind-interface.conf
	/usr/share/flowprobe/web-config.yml
	EOF
	for p in $pages; do echo "/usr/share/man/man1/$p.1.gz"; done
	# The manual: every page of docs/ and its screenshots.
	for f in docs/*.md docs/*.png; do echo "/usr/share/doc/flowprobe/docs/${f#docs/}"; done
}
{ common; cat <<-'EOF'
	/usr/share/doc/flowprobe/LICENSE-APACHE
	/usr/share/doc/flowprobe/LICENSE-MIT
	/usr/share/doc/flowprobe/copyright
	/usr/share/zsh/vendor-completions/_flowprobe
	EOF
} | sort > "$tmp/want-deb"
{ common; cat <<-'EOF'
	/usr/share/licenses/flowprobe/LICENSE-APACHE
	/usr/share/licenses/flowprobe/LICENSE-MIT
	/usr/share/zsh/site-functions/_flowprobe
	EOF
} | sort > "$tmp/want-rpm"

# --- .deb, before installing ------------------------------------------------------
step ".deb contains exactly the expected files" bash -c '
	dpkg-deb -c "$1" | awk "\$1 !~ /^d/ {print \$6}" | sed "s|^\./|/|" | sort > "$2/have-deb"
	diff -u "$2/want-deb" "$2/have-deb"' _ "$deb" "$tmp"
step ".deb conffiles: /etc/flowprobe/flowprobe.toml only" bash -c '
	[ "$(dpkg-deb -f "$1" Package)" = flowprobe ] &&
	[ "$(dpkg-deb --ctrl-tarfile "$1" | tar -xO ./conffiles)" = /etc/flowprobe/flowprobe.toml ]' _ "$deb"

# --- .rpm ---------------------------------------------------------------------------
step "rpm -qlp lists exactly the expected files" bash -c '
	rpm -qlp "$1" 2>/dev/null | sort > "$2/have-rpm"; diff -u "$2/want-rpm" "$2/have-rpm"' _ "$rpm" "$tmp"
step "rpm: /etc/flowprobe/flowprobe.toml is %config(noreplace)" bash -c '
	[ "$(rpm -qcp "$1" 2>/dev/null)" = /etc/flowprobe/flowprobe.toml ] &&
	rpm -qp --qf "[%{FILEFLAGS:fflags} %{FILENAMES}\n]" "$1" 2>/dev/null | grep -qx "cn /etc/flowprobe/flowprobe.toml"' _ "$rpm"
step "rpm: name, version, scriptlets create the account" bash -c '
	[ "$(rpm -qp --qf "%{NAME} %{VERSION}" "$1" 2>/dev/null)" = "flowprobe $2" ] &&
	rpm -qp --scripts "$1" 2>/dev/null > "$3/scripts" &&
	grep -q "systemd-sysusers flowprobe.conf" "$3/scripts" && grep -q "useradd --system" "$3/scripts" &&
	grep -q "systemd-tmpfiles --create flowprobe.conf" "$3/scripts"' _ "$rpm" "$version" "$tmp"

# --- install --------------------------------------------------------------------------
# What the file system holds before, to compare with after the purge. Only
# where a package puts files; /var/lib/dpkg keeps its own records, and
# /etc/netns belongs to the network namespaces of tests that may be running.
snapshot() {
	find /etc /usr /var/lib /lib /opt -xdev \( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /etc/netns \) -prune -o -print 2>/dev/null | sort
}
export -f snapshot
snapshot > "$tmp/before"
installed=1
step "dpkg -i" dpkg -i "$deb" </dev/null

step "every packaged file is installed unchanged (dpkg --verify)" bash -c '
	[ -z "$(dpkg --verify flowprobe)" ] && dpkg -L flowprobe | grep -qx /usr/bin/flowprobe'
step "flowprobe --version: version, commit, build date" bash -c '
	v=$(/usr/bin/flowprobe --version); echo "$v"
	echo "$v" | grep -Eq "^flowprobe $1 \(commit ([0-9a-f]{12}|unknown), built [0-9]{4}-[0-9]{2}-[0-9]{2}\)$"' _ "$version"
step "the flowprobe account: system user, nologin, home /var/lib/flowprobe" bash -c '
	IFS=: read -r name _ uid gid _ home shell < <(getent passwd flowprobe)
	echo "$name uid=$uid gid=$gid home=$home shell=$shell"
	[ "$uid" -lt 1000 ] && [ "$home" = /var/lib/flowprobe ] && [ "$shell" = /usr/sbin/nologin ] &&
	[ "$(getent group flowprobe | cut -d: -f3)" = "$gid" ]'
step "owners and modes: /etc/flowprobe 0750 root:flowprobe, the config 0640 root:flowprobe, state 0700" bash -c '
	stat -c "%n %a %U:%G" /etc/flowprobe /etc/flowprobe/trust /etc/flowprobe/flowprobe.toml /var/lib/flowprobe /usr/bin/flowprobe
	[ "$(stat -c "%a %U:%G" /etc/flowprobe)" = "750 root:flowprobe" ] &&
	[ "$(stat -c "%a %U:%G" /etc/flowprobe/trust)" = "750 root:flowprobe" ] &&
	[ "$(stat -c "%a %U:%G" /etc/flowprobe/flowprobe.toml)" = "640 root:flowprobe" ] &&
	[ "$(stat -c "%a %U:%G" /var/lib/flowprobe)" = "700 flowprobe:flowprobe" ] &&
	[ "$(stat -c "%a %U:%G" /usr/bin/flowprobe)" = "755 root:root" ]'
step "the installed unit runs /usr/bin/flowprobe as flowprobe, documents its man page" bash -c '
	u=/usr/lib/systemd/system/flowprobe.service
	grep -qx "ExecStart=/usr/bin/flowprobe run --config /etc/flowprobe/flowprobe.toml" $u &&
	grep -qx "ExecStartPre=/usr/bin/flowprobe config check --config /etc/flowprobe/flowprobe.toml" $u &&
	grep -qx "User=flowprobe" $u && grep -q "^Documentation=man:flowprobe(1) " $u && ! grep -q /usr/local $u'
step "flowprobe config check accepts the installed example, as the service user" \
	runuser -u flowprobe -- /usr/bin/flowprobe config check
step "flowprobe config check (the unit's ExecStartPre) rejects a broken file, as the service user" bash -c '
	cp -p /etc/flowprobe/flowprobe.toml /etc/flowprobe/broken.toml
	echo "no_such_key = 1" >> /etc/flowprobe/broken.toml
	runuser -u flowprobe -- /usr/bin/flowprobe config check --config /etc/flowprobe/broken.toml; rc=$?
	rm -f /etc/flowprobe/broken.toml; echo "exit $rc"; [ $rc -eq 2 ]'
step "other users cannot read the configuration" bash -c '
	! runuser -u nobody -- cat /etc/flowprobe/flowprobe.toml 2>/dev/null'

step "systemd-analyze verify on the installed unit" bash -c '
	out=$(systemd-analyze verify /usr/lib/systemd/system/flowprobe.service 2>&1); rc=$?
	echo "$out"; [ $rc -eq 0 ] && ! echo "$out" | grep -q "flowprobe"'
exposure() { # exposure UNIT-FILE -> the overall exposure score
	systemd-analyze security --offline=yes "$1" 2>/dev/null |
		sed -n 's/.*Overall exposure level for flowprobe.service: \([0-9.]*\).*/\1/p'
}
base=$(exposure /usr/lib/systemd/system/flowprobe.service)
mkdir -p "$tmp/units/flowprobe.service.d"
cp /usr/lib/systemd/system/flowprobe.service "$tmp/units/"
cp /usr/share/flowprobe/systemd/flowprobe.service.d/bind-interface.conf "$tmp/units/flowprobe.service.d/"
with=$(exposure "$tmp/units/flowprobe.service")
echo "note exposure: installed flowprobe.service ${base:-?}, with the packaged bind-interface.conf ${with:-?} (limit $max_exposure)"
step "systemd-analyze security --offline=yes on the installed unit <= $max_exposure (is ${base:-?})" \
	awk -v s="$base" -v m="$max_exposure" 'BEGIN { exit !(s != "" && s + 0 <= m + 0) }'

step "man -l renders every page" bash -c '
	for p in $1; do
		f=/usr/share/man/man1/$p.1.gz
		out=$(MANWIDTH=80 man -l "$f" 2>"$2/man.err") || { echo "$p: man failed"; cat "$2/man.err"; exit 1; }
		[ -s "$2/man.err" ] && { echo "$p: warnings"; cat "$2/man.err"; exit 1; }
		echo "$out" | grep -q "^NAME" && echo "$out" | grep -q "^SYNOPSIS" || { echo "$p: no NAME/SYNOPSIS"; exit 1; }
		echo "$out" | grep -Eq "${p//-/ +}" || { echo "$p: synopsis does not name the command"; exit 1; }
	done
	man -l /usr/share/man/man1/flowprobe.1.gz 2>/dev/null | grep -q "^EXIT STATUS"' _ "$pages" "$tmp"
step "the installed README links only pages that are installed" bash -c '
	d=/usr/share/doc/flowprobe
	links=$(grep -o "](docs/[^)#]*" $d/README.md | sed "s/^](//" | sort -u)
	[ -n "$links" ] || { echo "no docs/ links in $d/README.md"; exit 1; }
	for l in $links; do [ -f "$d/$l" ] || { echo "missing $d/$l"; exit 1; }; done
	ls $d/docs/configuration.md $d/docs/reasons.md $d/docs/metrics.md $d/docs/status-overview.png'
step "man finds flowprobe(1) and flowprobe-check(1)" bash -c '
	[ "$(man -w flowprobe)" = /usr/share/man/man1/flowprobe.1.gz ] &&
	[ "$(man -w flowprobe-check)" = /usr/share/man/man1/flowprobe-check.1.gz ]'
step "bash completion loads and completes subcommands" bash -c '
	source /usr/share/bash-completion/completions/flowprobe
	complete -p flowprobe | grep -q _flowprobe || exit 1
	COMP_WORDS=(flowprobe co); COMP_CWORD=1; COMP_LINE="flowprobe co"; COMP_POINT=${#COMP_LINE}
	_flowprobe flowprobe co flowprobe; echo "${COMPREPLY[*]}"
	[[ " ${COMPREPLY[*]} " == *" config "* && " ${COMPREPLY[*]} " == *" completions "* ]]'
step "zsh and fish completions name the subcommands" bash -c '
	grep -q "catalog" /usr/share/zsh/vendor-completions/_flowprobe &&
	grep -q "__fish_flowprobe" /usr/share/fish/vendor_completions.d/flowprobe.fish'

# --- upgrades keep an edited conffile ---------------------------------------------------
marker="# edited by tests/package/check.sh"
printf '%s\n' "$marker" >> /etc/flowprobe/flowprobe.toml
sed -i 's|^address = "127.0.0.1:9725"|address = "127.0.0.1:9726"|' /etc/flowprobe/flowprobe.toml
edited=$(sha256sum < /etc/flowprobe/flowprobe.toml)
kept() { # the edited file is there, unchanged, still readable by the service
	[ "$(sha256sum < /etc/flowprobe/flowprobe.toml)" = "$edited" ] &&
	[ "$(stat -c "%a %U:%G" /etc/flowprobe/flowprobe.toml)" = "640 root:flowprobe" ] &&
	! ls /etc/flowprobe/*.dpkg-* 2>/dev/null &&
	runuser -u flowprobe -- /usr/bin/flowprobe config show | grep -q '127.0.0.1:9726'
}
export edited; export -f kept
step "reinstall (dpkg -i the same .deb) keeps the edited conffile" bash -c '
	dpkg -i "$1" </dev/null && kept' _ "$deb"
step "scripts/package.sh --deb-version $version-2 repackages without a build" \
	scripts/package.sh --deb-version "$version-2"
upgrade=$(ls target/package/flowprobe_"$version"-2_*.deb 2>/dev/null)
step "upgrade to $version-2 keeps the edited conffile" bash -c '
	dpkg -i "$1" </dev/null && [ "$(dpkg-query -W -f="\${Version}" flowprobe)" = "$2" ] && kept' _ "$upgrade" "$version-2"
rm -f "$upgrade"

# --- remove, purge --------------------------------------------------------------------
step "dpkg -r removes the program, keeps the configuration" bash -c '
	dpkg -r flowprobe </dev/null && [ ! -e /usr/bin/flowprobe ] && [ ! -e /usr/lib/systemd/system/flowprobe.service ] &&
	[ -f /etc/flowprobe/flowprobe.toml ]'
step "dpkg --purge leaves nothing but the flowprobe account" bash -c '
	dpkg --purge flowprobe </dev/null || exit 1
	! dpkg-query -W -f="\${Status}" flowprobe 2>/dev/null | grep -q installed || exit 1
	snapshot > "$1/after"
	# the backups of the account databases (systemd-sysusers, useradd) are what
	# adding a system user leaves; Debian policy keeps the user itself.
	comm -3 "$1/before" "$1/after" | sed "s/^\t/+ /; t; s/^/- /" |
		grep -Ev "^\+ /etc/(passwd|group|shadow|gshadow)-$" > "$1/diff" || true
	cat "$1/diff"; [ ! -s "$1/diff" ] && getent passwd flowprobe >/dev/null' _ "$tmp"
installed=

echo
t2=$(ms)
echo "note package step: $(( (t2 - t0) / 1000 )) s in all, of which $(( (t1 - t0) / 1000 )) s building"
if [ "$failed" -gt 0 ]; then
	printf 'failed: %s\n' "${failures[@]}"
fi
echo "package: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
