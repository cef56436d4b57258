# reboot: reset the machine with reboot -f (the VMM should reset or exit).
say "reboot: rebooting now"
flush
reboot -f
sleep 5
fail "still running 5 s after reboot -f"
