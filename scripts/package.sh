#!/bin/sh
# Builds the .deb and the .rpm from one release build:
#   target/package/flowprobe_<version>-1_<arch>.deb
#   target/package/flowprobe-<version>-1.<arch>.rpm
# From a fresh clone with only the Rust toolchain: installs cargo-deb and
# cargo-generate-rpm with `cargo install --locked` when they are missing
# (a few minutes, once). The package layout is in Cargo.toml
# ([package.metadata.deb], [package.metadata.generate-rpm]).
# Usage: scripts/package.sh [--deb-version VERSION]
#   --deb-version builds nothing: it repackages the files staged by the last
#   run as another version (tests/package/check.sh's upgrade test).
# With PACKAGE_BINARY=PATH the packages are made from that binary
# (the test suite passes its own debug build, so CI compiles the crate once
# for tests; the package's contents and scripts are what is checked).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
target=${CARGO_TARGET_DIR:-$root/target}
out=$root/target/package
stage=$out/stage

deb_version=
if [ "${1:-}" = "--deb-version" ]; then
	deb_version=${2:?--deb-version needs a version}
fi

for tool in cargo-deb:cargo-deb cargo-generate-rpm:cargo-generate-rpm; do
	command -v "${tool%%:*}" >/dev/null 2>&1 || cargo install --locked "${tool#*:}"
done

if [ -n "$deb_version" ]; then
	[ -x "$stage/flowprobe" ] || { echo "package.sh: run it once without --deb-version first" >&2; exit 2; }
	cargo deb --no-build --deb-version "$deb_version" --output "$out/"
	exit 0
fi

if [ -n "${PACKAGE_BINARY:-}" ]; then
	bin=$PACKAGE_BINARY
	[ -x "$bin" ] || { echo "package.sh: PACKAGE_BINARY=$bin is not an executable" >&2; exit 2; }
else
	cargo build --release --locked --bin flowprobe
	bin=$target/release/flowprobe
fi

# Stage what is generated. The binary loses its debug sections (the release
# profile keeps line tables for development backtraces), the unit points at
# /usr/bin and names its man page; man pages and completions come from the
# binary's own clap definitions.
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

rm -f "$out"/*.deb "$out"/*.rpm
cargo deb --no-build --output "$out/"
cargo generate-rpm --output "$out/"
ls -l "$out"/*.deb "$out"/*.rpm
