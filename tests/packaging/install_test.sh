#!/usr/bin/env bash
# Installs the build into a temporary prefix, then builds samples/embed.c against the
# installed package twice — through find_package(Mnemo) and through pkg-config — and
# runs both on a tiny model. Also checks the installed layout.
#
#   install_test.sh BUILD_DIR WORK_DIR SOURCE_DIR MODEL.gguf [EXTRA_FLAGS] [CC]
# EXTRA_FLAGS go to the compiler and linker (the sanitizer build passes -fsanitize=...).
set -euo pipefail
build=$1 work=$2 src=$3 model=$4 flags=${5:-} cc=${6:-cc}

rm -rf "$work"
mkdir -p "$work"
prefix="$work/prefix"
step() { printf '== %s\n' "$*"; }

step "cmake --install into $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for f in include/mnemo/mnemo.h include/mnemo/mnemo.hpp bin/mnemo; do
  [[ -e "$prefix/$f" ]] || { echo "missing $prefix/$f"; exit 1; }
done
lib=$(dirname "$(find "$prefix" -name 'libmnemo.so.*.*.*' | head -n1)")
[[ -n "$lib" && -L "$lib/libmnemo.so" && -L "$lib/libmnemo.so.0" ]] || { echo "libmnemo.so and its SONAME link are not installed"; exit 1; }
[[ -f "$lib/cmake/Mnemo/MnemoConfig.cmake" && -f "$lib/cmake/Mnemo/MnemoConfigVersion.cmake" ]] || { echo "no CMake package"; exit 1; }
[[ -f "$lib/pkgconfig/mnemo.pc" ]] || { echo "no pkg-config file"; exit 1; }
"$prefix/bin/mnemo" --version

step "find_package(Mnemo) consumer"
cmake -S "$src/tests/packaging/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
  -DMNEMO_SAMPLES_DIR="$src/samples" -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" \
  -DCMAKE_BUILD_TYPE=Release >"$work/consumer.log"
cmake --build "$work/consumer" >>"$work/consumer.log"
# (not `ldd | grep -q`: with pipefail, grep quitting early can SIGPIPE ldd and fail the pipe)
ldd_out=$(ldd "$work/consumer/embed")
if [[ $ldd_out == *"libmnemo.so.0 => $prefix"* ]]; then :; else
  echo "the find_package build does not use the installed library:"; ldd "$work/consumer/embed"; exit 1
fi
"$work/consumer/embed" "$model" "Hello" 8 | tee "$work/embed_cmake.out"
grep -q 'generated [0-9]* tokens' "$work/embed_cmake.out"

step "pkg-config consumer"
export PKG_CONFIG_PATH="$lib/pkgconfig"
pkg-config --modversion mnemo
# shellcheck disable=SC2046,SC2086
"$cc" -std=c11 -Wall -Wextra -pedantic -Werror $flags "$src/samples/embed.c" -o "$work/embed_pc" $(pkg-config --cflags --libs mnemo)
LD_LIBRARY_PATH="$lib" "$work/embed_pc" "$model" "Hello" 8 | tee "$work/embed_pc.out"
grep -q 'generated [0-9]* tokens' "$work/embed_pc.out"
cmp "$work/embed_cmake.out" "$work/embed_pc.out"

step "install test passed"
