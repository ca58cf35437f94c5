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
export PKG_CONFIG_LIBDIR=$pc PKG_CONFIG_PATH='' PKG_CONFIG_SYSROOT_DIR=$dest
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

# libnestwalk-sim's nw_assert_fail (linked before libnestwalk, as pkg-config orders them) overrides the library's
# weak trap: a caller bug (an address space initialised without one) is reported on stderr.
cat > caller_bug.c <<'END'
#include <nestwalk-sim/simmem.h>
#include <nestwalk/aspace.h>

int main(void)
{
	struct nw_simmem *host = nw_simmem_create(&(struct nw_simmem_config){ .size = 1 << 24 });
	struct nw_aspace_config config = { .format = NW_STAGE2_EPT, .levels = 4 };

	return nw_aspace_init(NULL, nw_simmem_owner(host, "vm"), &config) == NW_OK;
}
END
# shellcheck disable=SC2046
cc "${flags[@]}" $(pkg-config --cflags nestwalk-sim) caller_bug.c $(pkg-config --libs nestwalk-sim) -o caller_bug
if LD_LIBRARY_PATH=$libdir ASAN_OPTIONS=detect_leaks=0 sh -c './caller_bug 2>stderr.txt; exit $?'; then
	echo "caller_bug: a NULL address space was accepted" >&2
	exit 1
fi
grep -q "^nestwalk: assertion failed: as && hal && config (" stderr.txt ||
	{ echo "caller_bug: no assertion message:" >&2; cat stderr.txt >&2; exit 1; }
