#!/bin/sh
# Builds the .deb (dpkg-deb) and the .rpm (rpmbuild) from one binary:
#   target/package/flowprobe_<version>-1_<arch>.deb
#   target/package/flowprobe-<version>-1.<arch>.rpm
# With Debian's own tools only (dpkg-deb, rpmbuild from the rpm package,
# objcopy): nothing to compile or install with cargo, so CI pays no
# packaging tool build. The layout (which file goes where, with which mode)
# is the table below, one list for both formats.
# Usage: scripts/package.sh [--deb-version VERSION]
#   --deb-version builds nothing: it repackages the files staged by the last
#   run as another version (tests/package/check.sh's upgrade test).
# With PACKAGE_BINARY=PATH the packages are made from that binary (the test
# suite passes its own build, so CI compiles the crate once); otherwise
# from a release build.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
target=${CARGO_TARGET_DIR:-$root/target}
out=$root/target/package
stage=$out/stage
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
summary="Proves that the network flows a Jamf Pro MDM deployment needs are open, and only those"
description="A daemon that probes, continuously and from each vantage point, the network
flows of the DISA Jamf Pro EMM STIG supplement (TCP, TLS certificate path to
Federal Common Policy CA G2 with RFC 5280 policy processing, SSH algorithms
against STIG policy, CRLs) and exports Prometheus metrics; \`flowprobe check\`
runs the same probes once as a firewall verification. Ships a hardened
systemd unit, alert rules, an Alertmanager example and a Grafana dashboard."

# tree DIR deb|rpm: the package's files under DIR, for the .deb (zsh completion in
# vendor-completions, licences and copyright in /usr/share/doc) or, with
# `rpm`, for the .rpm (site-functions, /usr/share/licenses).
tree() {
	dir=$1 kind=$2
	put() { # SOURCE DEST MODE
		install -D -m "$3" "$1" "$dir/$2"
	}
	put "$stage/flowprobe" usr/bin/flowprobe 755
	put "$stage/systemd/flowprobe.service" usr/lib/systemd/system/flowprobe.service 644
	put systemd/flowprobe.sysusers.conf usr/lib/sysusers.d/flowprobe.conf 644
	put systemd/flowprobe.tmpfiles.conf usr/lib/tmpfiles.d/flowprobe.conf 644
	put packaging/flowprobe.toml etc/flowprobe/flowprobe.toml 640
	put systemd/flowprobe.service.d/bind-interface.conf \
		usr/share/flowprobe/systemd/flowprobe.service.d/bind-interface.conf 644
	for f in deploy/examples/*.toml; do
		put "$f" "usr/share/flowprobe/examples/$(basename "$f")" 644
	done
	put deploy/prometheus/flowprobe.rules.yml usr/share/flowprobe/prometheus/flowprobe.rules.yml 644
	put deploy/prometheus/prometheus.yml usr/share/flowprobe/prometheus/prometheus.yml 644
	put deploy/prometheus/targets/flowprobe-field.yml usr/share/flowprobe/prometheus/targets/flowprobe-field.yml 644
	put deploy/alertmanager/alertmanager.yml usr/share/flowprobe/alertmanager/alertmanager.yml 644
	put deploy/web-config.yml usr/share/flowprobe/web-config.yml 644
	put grafana/flowprobe.json usr/share/flowprobe/grafana/flowprobe.json 644
	put grafana/provisioning/dashboards/flowprobe.yml usr/share/flowprobe/grafana/provisioning/dashboards/flowprobe.yml 644
	put grafana/provisioning/datasources/prometheus.yml usr/share/flowprobe/grafana/provisioning/datasources/prometheus.yml 644
	for f in "$stage"/man/*.1.gz; do
		put "$f" "usr/share/man/man1/$(basename "$f")" 644
	done
	put "$stage/completions/flowprobe.bash" usr/share/bash-completion/completions/flowprobe 644
	put "$stage/completions/flowprobe.fish" usr/share/fish/vendor_completions.d/flowprobe.fish 644
	put README.md usr/share/doc/flowprobe/README.md 644
	# The manual: one page per topic, and the status page's screenshots
	# (docs/ beside the README, so the README's links work where installed).
	for f in docs/*.md docs/*.png; do
		put "$f" "usr/share/doc/flowprobe/docs/$(basename "$f")" 644
	done
	put deploy/README.md usr/share/doc/flowprobe/DEPLOY.md 644
	put deploy/RUNBOOK.md usr/share/doc/flowprobe/RUNBOOK.md 644
	if [ "$kind" = deb ]; then
		put "$stage/completions/_flowprobe" usr/share/zsh/vendor-completions/_flowprobe 644
		put LICENSE-MIT usr/share/doc/flowprobe/LICENSE-MIT 644
		put LICENSE-APACHE usr/share/doc/flowprobe/LICENSE-APACHE 644
		put packaging/debian/copyright usr/share/doc/flowprobe/copyright 644
	else
		put "$stage/completions/_flowprobe" usr/share/zsh/site-functions/_flowprobe 644
		put LICENSE-MIT usr/share/licenses/flowprobe/LICENSE-MIT 644
		put LICENSE-APACHE usr/share/licenses/flowprobe/LICENSE-APACHE 644
	fi
}

# build_deb VERSION-REVISION: the .deb from the staged files.
build_deb() {
	full=$1
	d=$out/deb-root
	rm -rf "$d"
	tree "$d" deb
	mkdir -p "$d/DEBIAN"
	for s in postinst prerm postrm; do
		install -m 755 "packaging/debian/$s" "$d/DEBIAN/$s"
	done
	echo /etc/flowprobe/flowprobe.toml > "$d/DEBIAN/conffiles"
	(cd "$d" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort |
		xargs md5sum) > "$d/DEBIAN/md5sums"
	size=$(du -sk --exclude=DEBIAN "$d" | cut -f1)
	# The newest glibc and libgcc symbol versions the binary uses.
	glibc=$(objdump -T "$stage/flowprobe" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1 | cut -d_ -f2)
	gcc=$(objdump -T "$stage/flowprobe" | grep -o 'GCC_[0-9.]*' | sort -uV | tail -1 | cut -d_ -f2)
	{
		echo "Package: flowprobe"
		echo "Version: $full"
		echo "Architecture: $arch"
		echo "Maintainer: flowprobe maintainers <flowprobe@example.org>"
		echo "Installed-Size: $size"
		echo "Depends: libc6 (>= ${glibc:-2.17})${gcc:+, libgcc-s1 (>= $gcc)}, systemd | passwd"
		echo "Suggests: prometheus, prometheus-alertmanager"
		echo "Section: net"
		echo "Priority: optional"
		echo "Homepage: https://github.com/flowprobe/flowprobe"
		echo "Description: $summary"
		echo "$description" | sed 's/^/ /'
	} > "$d/DEBIAN/control"
	rm -f "$out"/flowprobe_"$full"_*.deb
	dpkg-deb --root-owner-group -Zxz --build "$d" "$out/flowprobe_${full}_$arch.deb" >/dev/null
	rm -rf "$d"
}

# build_rpm: the .rpm from the staged files (rpmbuild copies a prepared
# tree into its build root; the scriptlets are packaging/rpm/).
build_rpm() {
	top=$out/rpm-top
	rm -rf "$top"
	mkdir -p "$top/tree"
	tree "$top/tree" rpm
	files=$(cd "$top/tree" && find . -type f | sed 's|^\.||' | sort)
	{
		echo "Name: flowprobe"
		echo "Version: $version"
		echo "Release: 1"
		echo "Summary: $summary"
		echo "License: MIT OR Apache-2.0"
		echo "URL: https://github.com/flowprobe/flowprobe"
		echo "AutoReqProv: no"
		echo "%description"
		echo "$description"
		echo "%install"
		echo "cp -a $top/tree/. %{buildroot}/"
		echo "%post"
		cat packaging/rpm/post_install.sh
		echo "%preun"
		cat packaging/rpm/pre_uninstall.sh
		echo "%postun"
		cat packaging/rpm/post_uninstall.sh
		echo "%files"
		echo "$files" | while read -r f; do
			mode=$(stat -c %a "$top/tree$f")
			case "$f" in
			/etc/flowprobe/flowprobe.toml) echo "%config(noreplace) %attr($mode,root,root) $f" ;;
			/usr/share/licenses/*) echo "%license %attr($mode,root,root) $f" ;;
			/usr/share/doc/*|/usr/share/man/*) echo "%doc %attr($mode,root,root) $f" ;;
			*) echo "%attr($mode,root,root) $f" ;;
			esac
		done
	} > "$top/flowprobe.spec"
	rm -f "$out"/flowprobe-"$version"-1.*.rpm
	rpmbuild -bb --quiet \
		--define "_topdir $top" \
		--define "_rpmdir $out" \
		--define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
		--define "__strip /bin/true" \
		--define "__os_install_post %{nil}" \
		--define "debug_package %{nil}" \
		--define "_build_id_links none" \
		"$top/flowprobe.spec" >/dev/null
	rm -rf "$top"
}

if [ "${1:-}" = "--deb-version" ]; then
	[ -x "$stage/flowprobe" ] || { echo "package.sh: run it once without --deb-version first" >&2; exit 2; }
	build_deb "${2:?--deb-version needs a version}"
	exit 0
fi

if [ -n "${PACKAGE_BINARY:-}" ]; then
	bin=$PACKAGE_BINARY
	[ -x "$bin" ] || { echo "package.sh: PACKAGE_BINARY=$bin is not an executable" >&2; exit 2; }
else
	cargo build --release --locked --bin flowprobe
	bin=$target/release/flowprobe
fi

# Stage what is generated. The binary loses its debug sections (builds keep
# line tables for development backtraces), the unit points at /usr/bin and
# names its man page; man pages and completions come from the binary's own
# clap definitions.
rm -rf "$stage"
mkdir -p "$stage/systemd" "$stage/man" "$stage/completions"
objcopy --strip-debug "$bin" "$stage/flowprobe"
sed -e 's|/usr/local/bin/flowprobe|/usr/bin/flowprobe|g' \
	-e 's|^Documentation=\(.*\)$|Documentation=man:flowprobe(1) \1|' \
	systemd/flowprobe.service > "$stage/systemd/flowprobe.service"
"$stage/flowprobe" man --dir "$stage/man" >/dev/null
gzip -9n "$stage"/man/*.1
"$stage/flowprobe" completions bash > "$stage/completions/flowprobe.bash"
"$stage/flowprobe" completions zsh > "$stage/completions/_flowprobe"
"$stage/flowprobe" completions fish > "$stage/completions/flowprobe.fish"

build_deb "$version-1"
build_rpm
ls -l "$out"/*.deb "$out"/*.rpm
