#!/bin/bash
# The layering rule as a test (TAP): a folder includes only folders below it.
# Order, top to bottom: vmm devices virtio pci vhost kvm lib. tests/, guest/ and bench/
# stand outside and may include anything.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

layers=(vmm devices virtio pci vhost kvm lib)
n=0 bad=0
for ((i = 0; i < ${#layers[@]}; i++)); do
	dir=${layers[i]}
	above=("${layers[@]:0:i}")
	n=$((n + 1))
	hits=""
	if ((${#above[@]})); then
		pat=$(IFS='|'; echo "${above[*]}")
		hits=$(grep -rnE "#include \"($pat)/" "$dir" --include='*.c' --include='*.h' || true)
	fi
	if [[ -z $hits ]]; then
		echo "ok $n - $dir/ includes nothing from a layer above it"
	else
		echo "not ok $n - $dir/ includes a layer above it"
		sed 's/^/#   /' <<<"$hits"
		bad=1
	fi
done
echo "1..$n"
exit $bad
