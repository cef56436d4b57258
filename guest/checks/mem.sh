# mem: print MemTotal (kB) from /proc/meminfo.
# vmmtest.expect_mem_kb=N  PASS only if MemTotal >= N.
kb=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)
say "memtotal_kb=$kb"
want=$(arg expect_mem_kb)
case $want in
'') ;;
*[!0-9]*) fail "vmmtest.expect_mem_kb is not a number: $want" ;;
*) [ "$kb" -ge "$want" ] || fail "MemTotal ${kb} kB < expected $want kB" ;;
esac
pass
