#!/bin/bash -eu
# Builds every fuzz target the OSS-Fuzz / ClusterFuzzLite way: honours $CC,
# $CFLAGS, $LIB_FUZZING_ENGINE and $OUT, and writes $OUT/fuzz_<target> plus
# $OUT/fuzz_<target>_seed_corpus.zip. Defaults give a local libFuzzer build
# with ASan+UBSan; for AFL++ use CC=afl-clang-fast (see README.md, "Fuzzing").
# Objects are rebuilt only when a source or header is newer.
src=${NESTWALK_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
CC=${CC:-clang}
CFLAGS=${CFLAGS:--O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -fsanitize=fuzzer-no-link}
LIB_FUZZING_ENGINE=${LIB_FUZZING_ENGINE:--fsanitize=fuzzer}
OUT=${OUT:-$src/build/fuzz}
OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd) # absolute: the seed zips are written from the corpus folder
obj=${WORK:-$OUT}/obj
mkdir -p "$OUT" "$obj"
# Coverage of the harness's simulated host is noise (coverage-ignore.txt); only a compiler that takes the
# option gets it (clang does; so does afl-clang-fast, which passes it through).
ignore=$src/tests/fuzz/coverage-ignore.txt
if echo 'int x;' | $CC $CFLAGS -fsanitize-coverage-ignorelist="$ignore" -x c -c - -o /dev/null 2>/dev/null; then
	CFLAGS="$CFLAGS -fsanitize-coverage-ignorelist=$ignore"
fi

targets=(walk arm64 riscv stage2 trace scenario elf memdump)
deps_cflags=$(pkg-config --cflags libzstd libfyaml libelf)
deps_libs=$(pkg-config --libs libzstd libfyaml libelf)
includes=(-I"$src/lib/include" -I"$src/sim" -I"$src/tests/fuzz")
# The simulator's libraries the targets need, with the sources each folder's meson.build lists for its library
# (in its first files() or static_library() statement).
sim_sources() {
	awk '
		/(files|static_library)\(/ { on = 1 }
		on { line = $0; sub(/dependencies.*/, "", line)
		     while (match(line, /\x27[A-Za-z0-9_]+\.c\x27/)) {
			print substr(line, RSTART + 1, RLENGTH - 2); line = substr(line, RSTART + RLENGTH) } }
		on && /dependencies|\)/ { exit }' "$src/sim/$1/meson.build" | sed "s|^|$src/sim/$1/|"
}
sources=("$src"/lib/*.c "$src"/tests/fuzz/fuzz_file.c "$src"/tests/fuzz/fuzz_hw.c)
for dir in mem io trace scenario; do
	while read -r f; do sources+=("$f"); done < <(sim_sources "$dir")
done

newest_header=$(find "$src/lib" "$src/sim" "$src/tests/fuzz" \( -name '*.h' -o -name coverage-ignore.txt \) \
	-printf '%T@\n' | sort -n | tail -1)
export CC CFLAGS deps_cflags newest_header obj
compile() { # source -> object, skipped when up to date
	local s=$1 o
	o=$obj/$(echo "${s#"$src"/}" | tr / _).o
	if [ -f "$o" ] && [ "$o" -nt "$s" ] && [ "$(stat -c %Y "$o")" -ge "${newest_header%.*}" ]; then
		echo "$o"; return 0
	fi
	# shellcheck disable=SC2086
	$CC $CFLAGS -std=c11 $deps_cflags "${@:2}" -c "$s" -o "$o" >&2 && echo "$o"
}
export -f compile
export src

objects=()
while read -r o; do objects+=("$o"); done < <(
	printf '%s\n' "${sources[@]}" | xargs -P "$(nproc)" -I{} bash -c 'compile "$@"' _ {} "${includes[@]}")
[ ${#objects[@]} -eq ${#sources[@]} ] || { echo "build.sh: compilation failed" >&2; exit 1; }

for t in "${targets[@]}"; do
	o=$(compile "$src/tests/fuzz/fuzz_$t.c" "${includes[@]}") || { echo "build.sh: fuzz_$t failed" >&2; exit 1; }
	# shellcheck disable=SC2086
	$CC $CFLAGS "$o" "${objects[@]}" $LIB_FUZZING_ENGINE $deps_libs -o "$OUT/fuzz_$t"
	if command -v zip >/dev/null && [ -d "$src/tests/fuzz/corpus/$t" ]; then
		rm -f "$OUT/fuzz_${t}_seed_corpus.zip"
		(cd "$src/tests/fuzz/corpus/$t" && zip -q -r "$OUT/fuzz_${t}_seed_corpus.zip" .)
	fi
done
echo "build.sh: ${targets[*]} in $OUT"
