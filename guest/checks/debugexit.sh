# debugexit: write the byte vmmtest.code=N (default 0) to I/O port 0xf4, as
# QEMU's isa-debug-exit expects (QEMU then exits with status (N<<1)|1).
# The cloud kernel has no /dev/port (CONFIG_DEVPORT is not set), so the
# write is done by /bin/vmmtest-io (ioperm + outb).  If it returns, FAIL.
code=$(arg code 0)
case $code in
'' | *[!0-9]*) fail "vmmtest.code must be 0..255, got '$code'" ;;
esac
[ "$code" -le 255 ] || fail "vmmtest.code must be 0..255, got '$code'"
say "debugexit code=$code port=0xf4"
flush
vmmtest-io outb 0xf4 "$code" || fail "port write failed (vmmtest-io status $?)"
sleep 1
fail "still running after writing $code to port 0xf4 (no debug-exit device?)"
