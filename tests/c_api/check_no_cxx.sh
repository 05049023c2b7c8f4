#!/usr/bin/env bash
# The ABI guard's "exposes no C++" half (issue 10), beside c_api_test.c (the header
# compiles as strict C11):
#   1. mnemo.h preprocessed as C11 and as C++20 gives the same declarations once the
#      extern "C" { ... } wrapper is removed: the C++ view adds nothing but C linkage;
#   2. the C view holds no C++-only keyword or token;
#   3. the shared library exports only the C functions of mnemo.h: unmangled mnemo_*
#      names, each declared in the header (no C++ symbol, nothing undeclared).
#
#   check_no_cxx.sh HEADER LIBMNEMO.so C_COMPILER CXX_COMPILER
set -euo pipefail
header=$1 lib=$2 cc=$3 cxx=$4
fail=0
strip_wrapper() { grep -v -x -e 'extern "C" {' -e '}' -e '' | sed 's/[[:space:]]\+/ /g; s/ $//'; }

# Only the header's own text: the system headers it includes are stubbed out.
stubs=$(mktemp -d)
trap 'rm -rf "$stubs"' EXIT
touch "$stubs/stddef.h" "$stubs/stdint.h"
view() { "$1" "${@:2}" -nostdinc -I "$stubs" -E -P "$header"; }
c_view=$(view "$cc" -std=c11 -x c | strip_wrapper)
cxx_view=$(view "$cxx" -std=c++20 -x c++ | strip_wrapper)
if [[ "$c_view" != "$cxx_view" ]]; then
  echo "FAIL: mnemo.h declares something else for C++ than for C:"
  diff <(echo "$c_view") <(echo "$cxx_view") | head -20
  fail=1
fi
if grep -n -w -E 'class|namespace|template|typename|operator|nullptr|constexpr|noexcept|virtual|public|private|protected|using|new|delete|std|bool|true|false' <<<"$c_view"; then
  echo "FAIL: C++ keywords in the C view of mnemo.h (above)"
  fail=1
fi
if grep -n -E '::|&[[:space:]]*[a-z_]+[,)]' <<<"$c_view"; then
  echo "FAIL: C++ tokens (:: or references) in mnemo.h (above)"
  fail=1
fi

declared=$(grep -o -E '\bmnemo_[a-z0-9_]+[[:space:]]*\(' <<<"$c_view" | tr -d '( ' | sort -u)
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TtWw]$/ {print $3}' | sort -u)
unexpected=$(comm -13 <(echo "$declared") <(echo "$exported"))
missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
if [[ -n $unexpected ]]; then
  echo "FAIL: libmnemo exports symbols mnemo.h does not declare (C++ or internal):"
  echo "$unexpected" | head -20
  fail=1
fi
if [[ -n $missing ]]; then
  echo "FAIL: functions declared in mnemo.h but not exported:"
  echo "$missing"
  fail=1
fi
if ((fail)); then exit 1; fi
echo "mnemo.h exposes no C++: $(wc -l <<<"$declared") C functions, all exported unmangled, nothing else exported"
