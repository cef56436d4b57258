# poweroff: power the machine off right away with poweroff -f.
say "poweroff: powering off now"
flush
poweroff -f
sleep 5
fail "still running 5 s after poweroff -f"
