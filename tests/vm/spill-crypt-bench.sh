# tests/vm/spill-crypt-bench.sh (sourced by spill-crypt.sh in bench mode):
# the cost of encryption on the spill path.  4K random writes and reads of
# random (spilled) pages, qd 16, 4 s each, on a device with encrypt = yes
# and one with encrypt = no over the same namespace, interleaved, 5 rounds
# in one boot.  Prints each run, then the median IOPS, min-max, and the
# ratio of the medians (encrypted / plaintext).

iops() { # fio --output-format=terse line -> read or write IOPS (fields 8, 49)
	awk -F';' -v f="$1" '{ print $f }' /tmp/fio-b.out
}
run_fio() { # RW
	fio --name=b --filename="$dev" --allow_file_create=0 --ioengine=io_uring --direct=1 \
		--rw="$1" --bs=4k --iodepth=16 --size=32M --time_based --runtime=4 \
		--refill_buffers --randrepeat=0 --eta=never --output-format=terse --terse-version=3 --output=/tmp/fio-b.out
}
median() { sort -n | awk '{ v[NR] = $1 } END { printf "%d %d-%d", v[int((NR + 1) / 2)], v[1], v[NR] }'; }

declare -A res
for round in 1 2 3 4 5; do
	for mode in plain crypt; do
		add --policy /tmp/$mode.conf >/dev/null || { echo "# $mode: add failed"; continue; }
		dd if=/tmp/rand.bin of="$dev" bs=1M oflag=direct status=none
		dd if=/tmp/rand.bin of="$dev" bs=1M seek=8 oflag=direct status=none
		dd if=/tmp/rand.bin of="$dev" bs=1M seek=16 oflag=direct status=none
		dd if=/tmp/rand.bin of="$dev" bs=1M seek=24 oflag=direct status=none
		run_fio randwrite && res[$mode.w]+="$(iops 49) "
		run_fio randread && res[$mode.r]+="$(iops 8) "
		echo "# round $round $mode: randwrite $(echo "${res[$mode.w]}" | awk '{print $NF}') randread $(echo "${res[$mode.r]}" | awk '{print $NF}') IOPS"
		del "$id" >/dev/null
	done
done
for op in w r; do
	p=$(printf '%s\n' ${res[plain.$op]} | median) c=$(printf '%s\n' ${res[crypt.$op]} | median)
	echo "# 4K rand$([ $op = w ] && echo write || echo read): plaintext median ${p% *} (${p#* }), encrypted median ${c% *} (${c#* }), ratio $(awk -v a="${c% *}" -v b="${p% *}" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
done
