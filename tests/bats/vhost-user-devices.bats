#!/usr/bin/env bats
# The vhost-user device types besides virtio-fs, each against
# tests/tools/vu-test-backend --device=TYPE, which stands in for rust-vmm's
# vhost-device-TYPE (the same features, protocol features, queue count and
# config space; `vu-test-backend --device=help` lists them):
#
# - vhost-user-rng-pci, and vhost-user-device-pci,virtio-id=4: the guest
#   reads 1 MiB from /dev/hwrng, served for real by the back-end
#   (guest/checks/hwrng.sh: not constant, does not compress);
# - every named type in one VM, each on its own back-end: the guest sees a
#   virtio device with the type's id, and the driver binds where the test
#   guest's kernel has one (guest/checks/virtio-devices.sh); the cloud
#   kernel has none for gpio, i2c, scmi, sound and spi;
# - the generic device's refusals: an unknown virtio id, num_vqs 0 or
#   above the limit, config_size above 256;
# - the QEMU command lines of rust-vmm's vhost-device READMEs
#   (tests/vhost-device-readme-lines.txt, verbatim with their sources),
#   each run through our VMM with only its placeholders filled in: the
#   device is attached and the guest sees it.
#
# 17 tests, 14 guest boots, about 3 minutes in the lab (1 MiB from
# /dev/hwrng is most of it).
#
# VMM=qemu-system-x86_64 runs what QEMU 7.2 has (rng, gpio, i2c, input,
# vsock, scsi; not scmi, snd, spi, vhost-user-device-pci) against it, to
# check the tests and the back-end themselves.

load helpers

bats_require_minimum_version 1.5.0

READMES=$TOP/tests/vhost-device-readme-lines.txt
# 1 MiB from /dev/hwrng is ~16400 requests of 64 bytes (the 6.1 driver's
# size): about 40 s in the lab under QEMU 7.2, more under ASan.
RNG_TIMEOUT=${RNG_TIMEOUT:-240}

setup_file() {
	require_guest
	[[ -x $VU_BACKEND ]] || {
		echo "no $VU_BACKEND: run make unit" >&2
		return 1
	}
}

setup() {
	VM_PID= BG_PIDS=
	declare -gA BE_PID=()
}

teardown() {
	cleanup_vm
}

# start_be NAME SOCKET DEVICE [OPTIONS...]: vu-test-backend --device=DEVICE
# listening on SOCKET, its log in $BATS_TEST_TMPDIR/NAME.log.
start_be() {
	local name=$1 sock=$2 dev=$3
	shift 3
	((${#sock} < 100)) || { echo "socket path too long: $sock" >&2; return 1; }
	"$VU_BACKEND" --socket-path="$sock" --device="$dev" --log="$BATS_TEST_TMPDIR/$name.log" "$@" \
		</dev/null >>"$BATS_TEST_TMPDIR/$name.err" 2>&1 3>&- &
	BE_PID[$name]=$!
	BG_PIDS="$BG_PIDS $!"
	await_socket "$sock" 10 "$!"
}

# be_dev NAME TYPE DEVICE-OPTIONS MODE [BACK-END OPTIONS...]: start_be NAME
# on $BATS_TEST_TMPDIR/NAME.sock in --device=MODE, and adds -chardev
# id=NAME and -device TYPE,chardev=NAME[,DEVICE-OPTIONS] to DEV_ARGS.
be_dev() {
	local name=$1 type=$2 opts=$3
	shift 3
	start_be "$name" "$BATS_TEST_TMPDIR/$name.sock" "$@" || return 1
	DEV_ARGS+=(-chardev "socket,id=$name,path=$BATS_TEST_TMPDIR/$name.sock"
		-device "$type,chardev=$name${opts:+,$opts}")
}

# restart_be NAME SOCKET MODE: a back-end serves one connection; after a
# front-end that connected and then gave up, a new one on the same socket.
restart_be() {
	if pid_running "${BE_PID[$1]}"; then
		[[ -S $2 ]] && return 0
		await_exit "${BE_PID[$1]}" 20 || return 1
	fi
	wait "${BE_PID[$1]}" 2>/dev/null || true
	mv "$BATS_TEST_TMPDIR/$1.log" "$BATS_TEST_TMPDIR/$1.log.0"
	start_be "$@"
}

# be_log NAME: the back-end's log.
be_log() {
	cat "$BATS_TEST_TMPDIR/$1.log"
}

# assert_be_clean NAME...: each back-end saw the front-end close (EOF),
# exited 0 (ASan included) and logged no VIOLATION of the protocol or the
# ring layout. QEMU 7.2 acks feature bits nobody offered (RING_RESET for
# vhost-user-input, VIRTIO_SCSI_F_CHANGE for vhost-user-scsi); those
# lines are let through under QEMU only.
assert_be_clean() {
	local n log
	for n; do
		await_exit "${BE_PID[$n]}" 20 || return 1
		log=$(be_log "$n")
		vmm_is_qemu && log=$(grep -v "VIOLATION SET_FEATURES acks" <<<"$log")
		[[ $exit_status -eq 0 && $log == *EOF* && $log != *VIOLATION* ]] || {
			echo "back-end $n: exit status $exit_status; its log and stderr:" >&2
			tail -30 "$BATS_TEST_TMPDIR/$n.log" >&2
			cat "$BATS_TEST_TMPDIR/$n.err" >&2
			return 1
		}
	done
}

# be_bytes NAME [RING]: the bytes the back-end put in RING's used buffers.
be_bytes() {
	be_log "$1" | sed -n "s/^RING STATS index=${2:-0} .* bytes=\([0-9]*\).*/\1/p" | tail -1
}

# want CONFIG DRIVER: DRIVER if the test guest's kernel has CONFIG (y or
# m), "none" if it lacks it.
want() {
	if grep -q "^$1=[ym]" "$GUEST/config"; then echo "$2"; else echo none; fi
}

# assert_virtio ID DRIVER: the guest lists a virtio device with that id and
# driver ("any": some driver).
assert_virtio() {
	local re="VMMTEST: virtio dev=virtio[0-9]+ id=$1 driver=$2 "
	[[ $2 == any ]] && re="VMMTEST: virtio dev=virtio[0-9]+ id=$1 driver=[^n][^ ]* "
	grep -qE "$re" <<<"$output" || {
		echo "no virtio device with id $1 and driver $2; the guest saw:" >&2
		grep "VMMTEST: virtio" <<<"$output" >&2
		tail -20 <<<"$output" >&2
		return 1
	}
}

# assert_vm_status N: as assert_status, showing stderr too (where the
# VMM's one-line errors are).
assert_vm_status() {
	assert_status "$1" || {
		echo "stderr:" >&2
		tail -20 <<<"${stderr:-}" >&2
		return 1
	}
}

assert_hwrng_1mib() {
	assert_result hwrng
	assert_out "VMMTEST: hwrng read virtio_rng."
	assert_out " bytes=1048576 "
	[[ $(guest_value "hwrng virtio_rng.[0-9]* distinct") -ge 200 ]]
	# at least 99% of the input after gzip (checked in the guest too)
	[[ $(guest_value "hwrng virtio_rng.[0-9]* gzip") -ge 1038090 ]]
}

@test "vu-test-backend --self-test: chains across regions, indirect tables, EVENT_IDX, NO_INTERRUPT, a broken chain" {
	run "$VU_BACKEND" --self-test
	assert_vm_status 0
	[[ $output != *"not ok"* && $output == *"1.."* ]]
}

@test "vhost-user-rng-pci: the guest reads 1 MiB from /dev/hwrng, not constant, incompressible" {
	DEV_ARGS=()
	be_dev rng vhost-user-rng-pci "" rng
	VM_TIMEOUT=$RNG_TIMEOUT boot_vm 512M \
		"vmmtest.check=hwrng,virtio-devices vmmtest.virtio_expect=4:virtio_rng" "${DEV_ARGS[@]}"
	assert_vm_status 0
	assert_hwrng_1mib
	assert_result virtio-devices
	assert_virtio 4 virtio_rng
	# The back-end served it: at least the 1 MiB, from ring 0.
	run be_log rng
	assert_out "RING START index=0"
	assert_be_clean rng
	(($(be_bytes rng) >= 1048576))
}

@test "vhost-user-device-pci,virtio-id=4: 1 MiB from /dev/hwrng; vhost-user-test-device-pci,virtio-id=18,num_vqs=2,config_size=136: virtio_input binds" {
	skip_on_qemu "QEMU 7.2 has no vhost-user-device-pci (8.2+)"
	DEV_ARGS=()
	be_dev rng vhost-user-device-pci virtio-id=4 rng
	be_dev kbd vhost-user-test-device-pci virtio-id=18,num_vqs=2,config_size=136 input
	VM_TIMEOUT=$RNG_TIMEOUT boot_vm 512M \
		"vmmtest.check=hwrng,virtio-devices vmmtest.virtio_expect=4:virtio_rng,18:virtio_input" \
		"${DEV_ARGS[@]}"
	assert_vm_status 0
	assert_hwrng_1mib
	assert_result virtio-devices
	assert_virtio 4 virtio_rng
	assert_virtio 18 virtio_input
	# The name came through GET_CONFIG after the driver's select write.
	assert_out "name=vu-test-backend keyboard"
	assert_be_clean rng kbd
	(($(be_bytes rng) >= 1048576))
	run be_log kbd
	assert_out "GET_CONFIG offset=0 size=136"
}

@test "one VM, every named type on its own back-end: rng gpio i2c input scmi snd spi vsock scsi" {
	skip_on_qemu "QEMU 7.2 lacks scmi, snd and spi (build/ has the QEMU run of the others)"
	DEV_ARGS=()
	be_dev rng vhost-user-rng-pci "" rng
	be_dev gpio vhost-user-gpio-pci "" gpio
	be_dev i2c vhost-user-i2c-pci "" i2c
	be_dev input vhost-user-input-pci "" input
	be_dev scmi vhost-user-scmi-pci "" scmi
	be_dev snd vhost-user-snd-pci "" snd
	be_dev spi vhost-user-spi-pci "" spi
	# guest-cid= is the VMM's config; the back-end would say 9.
	be_dev vsock vhost-user-vsock-pci guest-cid=5 vsock --guest-cid=9
	# control + event + 2 request queues (Linux uses one per vCPU: -smp 2)
	be_dev scsi vhost-user-scsi-pci num_queues=2,virtqueue_size=256 scsi --queues=4
	expect="4:virtio_rng,41:$(want CONFIG_GPIO_VIRTIO any),34:$(want CONFIG_I2C_VIRTIO any)"
	expect+=",18:virtio_input,32:$(want CONFIG_ARM_SCMI_TRANSPORT_VIRTIO any)"
	expect+=",25:$(want CONFIG_SND_VIRTIO any),45:$(want CONFIG_SPI_VIRTIO any)"
	expect+=",19:vmw_vsock_virtio_transport,8:virtio_scsi"
	boot_vm 512M "vmmtest.check=virtio-devices,hwrng vmmtest.hwrng_bytes=65536 vmmtest.virtio_expect=$expect" \
		-smp 2 "${DEV_ARGS[@]}"
	assert_vm_status 0
	assert_result virtio-devices
	assert_result hwrng
	assert_virtio 4 virtio_rng
	assert_virtio 41 "$(want CONFIG_GPIO_VIRTIO any)"
	assert_virtio 34 "$(want CONFIG_I2C_VIRTIO any)"
	assert_virtio 18 virtio_input
	assert_virtio 32 "$(want CONFIG_ARM_SCMI_TRANSPORT_VIRTIO any)"
	assert_virtio 25 "$(want CONFIG_SND_VIRTIO any)"
	assert_virtio 45 "$(want CONFIG_SPI_VIRTIO any)"
	assert_virtio 19 vmw_vsock_virtio_transport
	assert_virtio 8 virtio_scsi
	assert_out "name=vu-test-backend keyboard"
	[[ $(guest_value "virtio-vsock dev=virtio[0-9]* cid") == 5 ]]
	assert_out "VMMTEST: virtio-scsi dev=virtio"
	assert_be_clean rng gpio i2c input scmi snd spi vsock scsi
	# The config spaces that are the back-end's were read from it.
	for n in gpio input snd spi; do
		run be_log "$n"
		assert_out "GET_CONFIG offset=0"
	done
	# scsi: 4 rings of 256, the request queues served (an empty bus).
	run be_log scsi
	assert_out "SET_VRING_NUM index=3 num=256"
	assert_out "RING START index=2"
	assert_out "RING START index=3"
	# vsock: the back-end has rx and tx, the event queue is the VMM's.
	run be_log vsock
	assert_out "SET_VRING_KICK index=1"
	[[ $output != *"SET_VRING_KICK index=2"* ]]
}

# refused NAME OPTIONS TEXT...: -device vhost-user-device-pci,OPTIONS with
# a live back-end: exit 1, one line on stderr containing each TEXT.
refused() {
	local name=$1 opts=$2
	shift 2
	DEV_ARGS=()
	be_dev "$name" vhost-user-device-pci "$opts" rng
	boot_vm 256M "vmmtest.check=none" "${DEV_ARGS[@]}"
	assert_vm_status 1
	assert_stderr_line "vmm: error: " "$@"
}

@test "vhost-user-device-pci,virtio-id=999: refused in one line" {
	skip_on_qemu "QEMU 7.2 has no vhost-user-device-pci"
	refused bad virtio-id=999 virtio-id 999
}

@test "vhost-user-device-pci,num_vqs=0: refused in one line" {
	skip_on_qemu "QEMU 7.2 has no vhost-user-device-pci"
	refused bad virtio-id=4,num_vqs=0 num_vqs
}

@test "vhost-user-device-pci,num_vqs=1025 (above any limit: QEMU's 1024, vhost-user's 256 ring indexes): refused in one line" {
	skip_on_qemu "QEMU 7.2 has no vhost-user-device-pci"
	refused bad virtio-id=4,num_vqs=1025 num_vqs
}

@test "vhost-user-device-pci,config_size=257 (the maximum is 256): refused in one line" {
	skip_on_qemu "QEMU 7.2 has no vhost-user-device-pci"
	refused bad virtio-id=4,config_size=257 config_size
}

# ---- the READMEs' command lines (tests/vhost-device-readme-lines.txt) ----

# readme_line NAME: block NAME as one line: the shell prompt, "# ..."
# comments and line continuations gone.
readme_line() {
	awk -v name="$1" '
		/^== / { on = ($2 == name); next }
		on && /^\| / {
			l = substr($0, 3)
			sub(/^[ \t]*(host#|shell[0-9]+\$)[ \t]*/, "", l)
			sub(/(^|[ \t])#.*$/, "", l)
			sub(/[ \t]*\\[ \t]*$/, "", l)
			printf "%s ", l
		}' "$READMES" | tr -s ' \t' ' ' | sed 's/^ //; s/ $//'
}

# readme_run LINE PARAMS: runs LINE (after the test's substitutions) with
# our VMM: the binary is replaced (or added, when the README gives only
# flags), "..." becomes the test guest with PARAMS on its command line (at
# the end when the line has no "..."). $status, $output, $stderr as run.
readme_run() {
	local line=$1 params=$2 w boot=() argv=() dots=
	boot=(-nographic -no-reboot)
	vmm_is_qemu && [[ $line != *accel=* ]] && boot+=(-accel kvm -cpu host)
	boot+=(-kernel "$KERNEL" -initrd "$INITRD" -append "console=ttyS0 quiet panic=-1 $params")
	set -f
	# shellcheck disable=SC2086 # no quotes in these lines: split on spaces
	set -- $line
	set +f
	[[ $1 == -* ]] || shift
	for w; do
		if [[ $w == ... ]]; then
			argv+=("${boot[@]}")
			dots=1
		else
			argv+=("$w")
		fi
	done
	[[ -n $dots ]] || argv+=("${boot[@]}")
	echo "# $VMM ${argv[*]}" >&3
	run --separate-stderr timeout --kill-after=10 "$VM_TIMEOUT" "$VMM" "${argv[@]}" </dev/null
}

# The guest part every README test checks: the device is there.
readme_params() {
	echo "vmmtest.check=virtio-devices vmmtest.virtio_expect=$1"
}

@test "README command line: vhost-device-rng (-M virt is Arm's board: q35 here)" {
	line=$(readme_line rng)
	[[ $line == "qemu-system -M virt "*"-device vhost-user-rng-pci,chardev=rng0 "*" ..." ]]
	start_be rng "$BATS_TEST_TMPDIR/rng.sock0" rng
	line=${line//-M virt/-M q35}
	line=${line//\/some\/path/$BATS_TEST_TMPDIR}
	# "..." is the rest of a working command line: -m to match the 4G
	# memory backend, the kernel.
	line=${line/ .../ -m 4G ...}
	readme_run "$line" "$(readme_params 4:virtio_rng) vmmtest.check=virtio-devices,hwrng vmmtest.hwrng_bytes=65536"
	assert_vm_status 0
	assert_virtio 4 virtio_rng
	assert_result hwrng
	assert_be_clean rng
}

@test "README command line: vhost-device-vsock (its template; the guest's CID comes from the back-end)" {
	line=$(readme_line vsock)
	[[ $line == "qemu-system-x86_64 <normal QEMU options> "*"reconnect=0,path=<vhost-user socket path> -device vhost-user-vsock-pci,chardev=char0" ]]
	# reconnect=0 is QEMU's -chardev socket option (seconds between
	# reconnection attempts of a client socket; 0: none), which QEMU 7.2
	# accepts. vhost-device-vsock --vm guest-cid=4,...,socket=/tmp/vhost4.socket
	start_be vsock "$BATS_TEST_TMPDIR/vhost4.socket" vsock --guest-cid=4
	line=${line//<normal QEMU options>/-m 512M ...}
	line=${line//<Guest RAM size>/512M}
	line=${line//<machine options>/q35,accel=kvm}
	line=${line//<vhost-user socket path>/$BATS_TEST_TMPDIR/vhost4.socket}
	readme_run "$line" "$(readme_params 19:vmw_vsock_virtio_transport)"
	assert_vm_status 0
	assert_virtio 19 vmw_vsock_virtio_transport
	[[ $(guest_value "virtio-vsock dev=virtio[0-9]* cid") == 4 ]]
	assert_be_clean vsock
	run be_log vsock
	assert_out "GET_CONFIG offset=0 size=8"
}

@test "README command line: vhost-device-gpio" {
	line=$(readme_line gpio)
	[[ $line == "qemu-system -chardev socket,path=vgpio.sock,id=vgpio -device vhost-user-gpio-pci,chardev=vgpio,id=gpio "* ]]
	# The README's socket is relative: run where it is.
	cd "$BATS_TEST_TMPDIR"
	start_be gpio vgpio.sock gpio
	readme_run "$line" "$(readme_params "41:$(want CONFIG_GPIO_VIRTIO any)")"
	assert_vm_status 0
	assert_virtio 41 "$(want CONFIG_GPIO_VIRTIO any)"
	assert_be_clean gpio
	run be_log gpio
	assert_out "GET_CONFIG offset=0 size=8"
}

@test "README command line: vhost-device-i2c" {
	line=$(readme_line i2c)
	[[ $line == "qemu-system -chardev socket,path=vi2c.sock,id=vi2c -device vhost-user-i2c-pci,chardev=vi2c,id=i2c "* ]]
	cd "$BATS_TEST_TMPDIR"
	start_be i2c vi2c.sock i2c
	readme_run "$line" "$(readme_params "34:$(want CONFIG_I2C_VIRTIO any)")"
	assert_vm_status 0
	assert_virtio 34 "$(want CONFIG_I2C_VIRTIO any)"
	assert_be_clean i2c
}

@test "README command line: vhost-device-scmi (as written it names a chardev that does not exist; then corrected)" {
	skip_on_qemu "QEMU 7.2 has no vhost-user-scmi-pci"
	line=$(readme_line scmi)
	[[ $line == *"-chardev socket,path=scmi.sock,id=scmi -device vhost-user-scmi-pci,chardev=vscmi,id=scmi "* ]]
	cd "$BATS_TEST_TMPDIR"
	line=${line//YOUR-MACHINE-OPTIONS/q35}
	start_be scmi scmi.sock scmi
	# As written: refused in one line naming the missing chardev (QEMU:
	# "Property 'vhost-user-scmi-pci.chardev' can't find value 'vscmi'").
	readme_run "$line" "$(readme_params 32)"
	assert_vm_status 1
	assert_stderr_line "vscmi"
	# The chardev it means.
	restart_be scmi scmi.sock scmi
	readme_run "${line//chardev=vscmi/chardev=scmi}" \
		"$(readme_params "32:$(want CONFIG_ARM_SCMI_TRANSPORT_VIRTIO any)")"
	assert_vm_status 0
	assert_virtio 32 "$(want CONFIG_ARM_SCMI_TRANSPORT_VIRTIO any)"
	assert_be_clean scmi
}

@test "README command line: vhost-device-input (two devices; as written the first names a chardev that does not exist; then corrected)" {
	line=$(readme_line input)
	[[ $line == *"id=kbd0 -device vhost-user-input-pci,chardev=kdb0 "*"-device vhost-user-input-pci,chardev=mouse0 "*" ..." ]]
	line=${line//-M virt/-M q35}
	line=${line//\/some\/path/$BATS_TEST_TMPDIR}
	line=${line/ .../ -m 4G ...}
	start_be kbd "$BATS_TEST_TMPDIR/input.sock0" input
	start_be mouse "$BATS_TEST_TMPDIR/input.sock1" input
	readme_run "$line" "$(readme_params 18)"
	assert_vm_status 1
	[[ $stderr == *kdb0* ]] || { echo "the error does not name kdb0: $stderr" >&2; return 1; }
	vmm_is_qemu || assert_stderr_line "kdb0"
	# QEMU opens every chardev before it looks at the devices.
	restart_be kbd "$BATS_TEST_TMPDIR/input.sock0" input
	restart_be mouse "$BATS_TEST_TMPDIR/input.sock1" input
	readme_run "${line//chardev=kdb0/chardev=kbd0}" "$(readme_params 18:virtio_input)"
	assert_vm_status 0
	[[ $(grep -cE "VMMTEST: virtio dev=virtio[0-9]+ id=18 driver=virtio_input " <<<"$output") -eq 2 ]]
	[[ $(grep -c "name=vu-test-backend keyboard" <<<"$output") -eq 2 ]]
	assert_be_clean kbd mouse
}

@test "README command line: vhost-device-sound (the flags it gives, on our test guest)" {
	skip_on_qemu "QEMU 7.2 has no vhost-user-snd-pci"
	line=$(readme_line sound)
	[[ $line == "-chardev socket,id=vsnd,path=/tmp/snd.sock -device vhost-user-snd-pci,chardev=vsnd,id=snd" ]]
	start_be snd "$BATS_TEST_TMPDIR/snd.sock" snd
	readme_run "${line//\/tmp\/snd.sock/$BATS_TEST_TMPDIR/snd.sock}" \
		"$(readme_params "25:$(want CONFIG_SND_VIRTIO any)")"
	assert_vm_status 0
	assert_virtio 25 "$(want CONFIG_SND_VIRTIO any)"
	assert_be_clean snd
}

@test "README command line: vhost-device-spi (written for qemu-system-aarch64; the device is PCI)" {
	skip_on_qemu "QEMU 7.2 has no vhost-user-spi-pci"
	line=$(readme_line spi)
	[[ $line == "qemu-system-aarch64 -m 1G -chardev socket,path=/home/root/vspi.sock0,id=vspi -device vhost-user-spi-pci,chardev=vspi,id=spi "*" ..." ]]
	start_be spi "$BATS_TEST_TMPDIR/vspi.sock0" spi
	readme_run "${line//\/home\/root/$BATS_TEST_TMPDIR}" "$(readme_params "45:$(want CONFIG_SPI_VIRTIO any)")"
	assert_vm_status 0
	assert_virtio 45 "$(want CONFIG_SPI_VIRTIO any)"
	assert_be_clean spi
}

@test "README command line: vhost-device-scsi (num_queues=1,param_change=off)" {
	line=$(readme_line scsi)
	[[ $line == "qemu-system-x86_64 ... -device vhost-user-scsi-pci,num_queues=1,param_change=off,chardev=vus "* ]]
	# param_change=off: QEMU's virtio-scsi property (VIRTIO_SCSI_F_CHANGE
	# offered or not), which QEMU 7.2's vhost-user-scsi-pci accepts.
	start_be scsi "$BATS_TEST_TMPDIR/vhost-user-scsi.sock" scsi
	line=${line//\/tmp\/vhost-user-scsi.sock/$BATS_TEST_TMPDIR/vhost-user-scsi.sock}
	# "must match total guest memory"
	line=${line/ .../ -m 384M ...}
	readme_run "$line" "$(readme_params 8:virtio_scsi)"
	assert_vm_status 0
	assert_virtio 8 virtio_scsi
	assert_out "VMMTEST: virtio-scsi dev=virtio"
	assert_be_clean scsi
}
