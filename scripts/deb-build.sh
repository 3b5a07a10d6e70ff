#!/bin/sh
# `make deb`: build the Debian package libapache2-mod-llmproxy with Debian's
# tooling (dpkg-buildpackage, debhelper, dh-apache2) from a copy of the
# tree's files in build/deb/ (the build writes beside its source: the
# repository's parent directory is left alone), then run lintian on it.
# Prints the .deb's path on its last line.
set -eu
top=$(pwd)
pkg=libapache2-mod-llmproxy
ver=$(dpkg-parsechangelog -l debian/changelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
out=$top/build/deb
src=$out/$pkg-$ver

for t in dpkg-buildpackage dh dh_apache2 lintian; do
  command -v $t >/dev/null 2>&1 || {
    echo "$t missing: make deps installs debhelper, dh-apache2, dpkg-dev, lintian" >&2; exit 1; }
done
rm -rf "$out"
mkdir -p "$src"
# the files git knows (tracked, or new and not ignored), as they are now
git ls-files -z --cached --others --exclude-standard |
  (cd "$top" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
  tar -C "$top" --null -T - -cf - | tar -C "$src" -xf -
echo "building $pkg $ver in $src"
(cd "$src" && dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1) || {
  tail -40 "$out/build.log"; echo "dpkg-buildpackage failed (log: $out/build.log)" >&2; exit 1; }
deb=$out/${pkg}_${ver}_$arch.deb
[ -f "$deb" ] || { echo "no $deb" >&2; exit 1; }
# lintian: errors fail the build; warnings are listed (README.md explains
# the ones expected)
lintian --tag-display-limit 0 "$deb" >"$out/lintian.log" 2>&1 || true
cat "$out/lintian.log"
if grep -q '^E: ' "$out/lintian.log"; then
  echo "lintian reports errors" >&2; exit 1
fi
dpkg-deb -c "$deb" | awk '{print $6}' | grep -v '/$' > "$out/contents.txt"
echo "contents: $(wc -l < "$out/contents.txt") files (build/deb/contents.txt)"
echo "$deb"
