#!/bin/bash
# A project outside the tree using the installed library: installs the build into a temporary folder (meson
# install --destdir), copies an example there, builds it with nothing but `pkg-config --cflags --libs
# nestwalk-sim` (which pulls in nestwalk), runs it and compares its output with the expected text.
#   install_consumer.sh BUILD_DIR EXAMPLE.c EXPECTED.txt CHECK_OUTPUT.py [SANITIZE]
set -euo pipefail
build=$1 example=$2 expected=$3 check=$4 sanitize=${5:-none}
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >/dev/null
pc=$(find "$dest" -name nestwalk-sim.pc -printf '%h\n' | head -1)
[ -n "$pc" ] || { echo "nestwalk-sim.pc was not installed" >&2; exit 1; }
[ -f "$pc/nestwalk.pc" ] || { echo "nestwalk.pc was not installed beside it" >&2; exit 1; }
# Only the installed .pc files, their paths under the temporary root.
export PKG_CONFIG_LIBDIR=$pc PKG_CONFIG_PATH= PKG_CONFIG_SYSROOT_DIR=$dest
mkdir "$dest/consumer"
cp "$example" "$dest/consumer/"
cd "$dest/consumer"
flags=(-std=c11 -Wall -Wextra -Werror)
[ "$sanitize" = none ] || flags+=("-fsanitize=$sanitize")
# shellcheck disable=SC2046
cc "${flags[@]}" $(pkg-config --cflags nestwalk-sim) "$(basename "$example")" $(pkg-config --libs nestwalk-sim) \
	-o consumer
libdir=$(pkg-config --variable=libdir nestwalk-sim) # pkg-config puts the temporary root in front
LD_LIBRARY_PATH=$libdir /usr/bin/python3 "$check" ./consumer "$expected"
