# cpus: print the number of online CPUs the guest sees.
# vmmtest.expect_cpus=N  PASS only if exactly N CPUs.
n=$(grep -c '^processor' /proc/cpuinfo)
say "cpus=$n"
want=$(arg expect_cpus)
[ -z "$want" ] || [ "$n" = "$want" ] || fail "expected $want cpus, guest sees $n"
pass
