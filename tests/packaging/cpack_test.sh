#!/usr/bin/env bash
# Builds the .deb and .tar.gz with CPack and checks what they contain.
#   cpack_test.sh BUILD_DIR WORK_DIR
set -euo pipefail
build=$1 work=$2
rm -rf "$work"
mkdir -p "$work"
cpack --config "$build/CPackConfig.cmake" -G "DEB;TGZ" -B "$work" >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; exit 1; }
deb=$(find "$work" -maxdepth 1 -name 'mnemo_*.deb' | head -n1)
tgz=$(find "$work" -maxdepth 1 -name 'mnemo-*.tar.gz' | head -n1)
[[ -n "$deb" && -n "$tgz" ]] || { echo "missing packages in $work:"; ls "$work"; exit 1; }
echo "built $(basename "$deb") and $(basename "$tgz")"
if command -v dpkg-deb >/dev/null; then
  dpkg-deb -f "$deb" Package Version Depends
  dpkg-deb -c "$deb" >"$work/deb.list"
  for f in usr/include/mnemo/mnemo.h usr/bin/mnemo 'usr/lib/.*libmnemo.so.0' usr/lib/.*cmake/Mnemo/MnemoConfig.cmake usr/lib/.*pkgconfig/mnemo.pc; do
    grep -Eq "\./$f" "$work/deb.list" || { echo ".deb lacks $f"; cat "$work/deb.list"; exit 1; }
  done
fi
tar tzf "$tgz" >"$work/tgz.list"
for f in include/mnemo/mnemo.h bin/mnemo 'lib/.*libmnemo.so.0' 'lib/.*pkgconfig/mnemo.pc'; do
  grep -Eq "$f" "$work/tgz.list" || { echo ".tar.gz lacks $f"; cat "$work/tgz.list"; exit 1; }
done
echo "cpack test passed"
