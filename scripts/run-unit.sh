#!/bin/sh
# Run each unit-test program; print a closing "unit: N passed, N failed" line.
passed=0; failed=0; status=0
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  printf '%s\n' "$out"
  line=$(printf '%s\n' "$out" | tail -n 1)
  p=$(printf '%s' "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed/\1/p')
  f=$(printf '%s' "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed/\2/p')
  if [ -z "$p" ]; then echo "$t: crashed or printed no summary (exit $rc)"; f=1; p=0; fi
  passed=$((passed + p)); failed=$((failed + f))
  [ $rc -eq 0 ] || status=1
done
echo "unit: $passed passed, $failed failed"
[ $failed -eq 0 ] || status=1
exit $status
