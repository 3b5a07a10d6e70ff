#!/bin/sh
# replay DIR BIN...      replay each target's corpus (tests/fuzz/corpus/<name>)
# libfuzzer DIR SECONDS  build every target with clang -fsanitize=fuzzer and
#                        run each for SECONDS, starting from its corpus
set -u
mode=$1; dir=$2; shift 2
passed=0; failed=0
case "$mode" in
replay)
  for bin in "$@"; do
    name=$(basename "$bin"); name=${name#fuzz_}
    corpus=tests/fuzz/corpus/$name
    if [ ! -d "$corpus" ]; then echo "fuzz $name: no corpus at $corpus"; failed=$((failed+1)); continue; fi
    if "$bin" "$corpus" >/dev/null; then passed=$((passed+1)); else echo "fuzz $name: replay FAILED"; failed=$((failed+1)); fi
  done
  echo "fuzz-replay: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  ;;
libfuzzer)
  seconds=${1:-60}
  command -v clang >/dev/null || { echo "clang is needed for make fuzz"; exit 1; }
  mkdir -p "$dir"
  CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Iinclude $(apr-1-config --cppflags --includes) $(apu-1-config --includes)"
  LIBS="$(apr-1-config --link-ld) $(apu-1-config --link-ld) -lcjson -lcurl -lcrypto"
  for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c); short=${name#fuzz_}
    # shellcheck disable=SC2086
    clang $CFLAGS -o "$dir/$name" "$src" src/llmp_*.c $LIBS || exit 1
    mkdir -p "$dir/corpus-$short"
    if "$dir/$name" -max_total_time="$seconds" -max_len=65536 \
         "$dir/corpus-$short" "tests/fuzz/corpus/$short" >"$dir/$name.log" 2>&1; then
      passed=$((passed+1))
      echo "fuzz $short: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$dir/$name.log" | tail -n 1), no crash"
    else
      failed=$((failed+1))
      echo "fuzz $short: FAILED (new inputs in $dir/corpus-$short, crash file in .)"
      tail -n 60 "$dir/$name.log"
    fi
  done
  echo "fuzz: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  ;;
esac
