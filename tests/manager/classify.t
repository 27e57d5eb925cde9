#!/bin/sh
# ztierctl classify end to end: files, tails, --json, --policy, the active
# policy directory, --pid, and every error path with its exit status.
. tests/manager/lib.sh

# ---- files -------------------------------------------------------------------
head -c $((3 * 4096)) /dev/zero >"$T/zero"
run classify --json "$T/zero"
is "$rc" 0 "zero file: exit 0"
is "$(json_num pages)" 3 "zero file: 3 pages"
is "$(json_num zero)" 3 "zero file: 3 zero pages"
is "$(json_num samefill)" 3 "zero file: 3 samefill"

head -c 4097 /dev/zero >"$T/tail"
run classify --json "$T/tail"
is "$(json_num pages)" 2 "4097 bytes: the tail is a second, zero-padded page"
is "$(json_num samefill)" 2 "zero-padded tail of zeros is samefill"

printf 'ztier' >"$T/short"
run classify --json "$T/short"
is "$(json_num pages)" 1 "5-byte file: one page"
is "$(json_num text)" 1 "5 bytes then zeros: text"

head -c $((16 * 4096)) /dev/urandom >"$T/random"
run classify --json "$T/random"
is "$(json_num random)" 16 "16 pages of /dev/urandom: random"

i=0
while [ $i -lt 400 ]; do
	echo "the kernel swaps the page out and ztier decides which tier keeps it"
	i=$((i + 1))
done >"$T/text"
run classify --json "$T/text"
pages=$(json_num pages)
is "$(json_num text)" "$pages" "English text: every page is text ($pages pages)"

: >"$T/empty"
run classify --json "$T/empty"
is "$rc:$(json_num pages)" "0:0" "empty file: 0 pages, exit 0"

run classify --json "$T/zero" "$T/random" "$T/text"
is "$(json_num pages)" $((3 + 16 + pages)) "several files are added up"
like "$out" '"classes":\{"samefill":3,"text":[0-9]+,"mixed":[0-9]+,"random":16\}' \
	"--json has classes{samefill,text,mixed,random}"
like "$out" '"tiers":\{"meta":\{"pages":3,' "--json has pages per tier"

run classify "$T/zero" "$T/random"
is "$rc" 0 "human output: exit 0"
like "$out" '^pages +19 ' "human output: pages"
like "$out" '^zero pages +3 \(15\.8%\)' "human output: zero share"
like "$out" '^mean entropy +[0-9.]+ bits/byte' "human output: mean entropy"
like "$out" '^random +16 .*store \(raw\)' "human output: class -> tier and codec"
like "$out" '^policy [a-z.-]+ \(' "human output: the policy and where it comes from"

# Only regular files (issue #13's review): a FIFO blocked in open(), /dev/zero
# never ended.  timeout: a regression fails here instead of hanging prove.
mkfifo "$T/fifo"
rc=0; timeout 10 "$ZTIERCTL" classify "$T/fifo" >"$T/out" 2>"$T/err" || rc=$?
is "$rc" 1 "a FIFO: exit 1 at once, not blocked"
like "$(cat "$T/err")" 'not a regular file \(a FIFO\)' "a FIFO: says why"
rc=0; timeout 10 "$ZTIERCTL" classify /dev/zero >"$T/out" 2>"$T/err" || rc=$?
is "$rc:$(cat "$T/err")" "1:ztierctl: /dev/zero: not a regular file (a character device)" \
	"/dev/zero: refused, not read forever"
rc=0; timeout 10 "$ZTIERCTL" policy check /dev/zero >"$T/out" 2>"$T/err" || rc=$?
is "$rc" 1 "policy check /dev/zero: invalid, not valid"

# ---- policies -------------------------------------------------------------------
run classify --json --policy tests/manager/fixtures/to-zram.conf "$T/random"
like "$out" '"name":"to-zram"' "--policy: the given policy is used"
like "$out" '"zram":\{"pages":16,"bytes":65536\}' "--policy: random pages go to zram"

printf '[random]\ntier = meta\n' >"$T/bad.conf"
run classify --policy "$T/bad.conf" "$T/random"
is "$rc" 1 "invalid --policy: exit 1"
like "$err" "bad.conf:2: tier meta cannot take random pages" "invalid --policy: FILE:LINE"

mkdir -p "$T/policy.d/default.conf.d" "$T/empty.d"
printf '[policy]\nname = active\n[text]\ncodec = zstd:9\n' >"$T/policy.d/default.conf"
printf '[text]\ncodec = zstd:2\n' >"$T/policy.d/default.conf.d/10-a.conf"
printf '[text]\ncodec = lz4\n' >"$T/policy.d/default.conf.d/20-b.conf"
printf '[policy]\nname = other\n' >"$T/policy.d/other.conf"
ZTIER_POLICY_DIR="$T/policy.d" run classify --json "$T/text"
like "$out" '"name":"active".*"text":\{"tier":"store","codec":"lz4"\}' \
	"active policy: default.conf, then its drop-ins in name order"
like "$out" '"origin":"[^"]*default.conf \+ 2 drop-ins"' "active policy: origin shown"
ZTIER_POLICY_DIR="$T/empty.d" run classify --json "$T/text"
like "$out" '"name":"default","origin":"built-in"' "no default.conf: the built-in policy"
printf '[random]\ntier = meta\n' >"$T/policy.d/default.conf.d/30-bad.conf"
ZTIER_POLICY_DIR="$T/policy.d" run classify "$T/text"
is "$rc:$err" "1:$T/policy.d/default.conf.d/30-bad.conf:2: tier meta cannot take random pages (meta holds only samefill pages)" \
	"invalid active policy: exit 1 with FILE:LINE of the drop-in"

# ---- a process -------------------------------------------------------------------
run classify --json --pid $$
is "$rc" 0 "--pid of this shell: exit 0"
like "$(json_num pages)" '^[1-9][0-9]*$' "--pid: some resident anonymous pages"

# Not allowed to read: as a user, a process of another user (as root, we
# drop to nobody with setpriv to get there).
as_user() {
	if [ "$(id -u)" != 0 ]; then "$@"; else
		setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; fi
}
if [ "$(id -u)" != 0 ] || command -v setpriv >/dev/null; then
	as_user "$ZTIERCTL" classify --pid $$ >"$T/out" 2>"$T/err"
	is "$?:$(cat "$T/err")" "1:ztierctl: pid $$: cannot read its memory: Permission denied" \
		"process of another user: exit 1, one line"
	head -c 10 /dev/zero >"$T/secret"
	chmod 000 "$T/secret"
	chmod 755 "$T"
	as_user "$ZTIERCTL" classify "$T/secret" >"$T/out" 2>"$T/err"
	is "$?:$(cat "$T/err")" "1:ztierctl: $T/secret: cannot read: Permission denied" \
		"unreadable file: exit 1, one line"
else
	skip "permission cases need setpriv"
	skip "permission cases need setpriv"
fi

sh -c 'exit 0' &
dead=$!
wait $dead
run classify --pid $dead
is "$rc" 1 "dead pid: exit 1"
is "$err" "ztierctl: pid $dead: no such process" "dead pid: one clear line"

# ---- bad input and usage ----------------------------------------------------------
run classify "$T/missing"
is "$rc" 1 "missing file: exit 1"
is "$err" "ztierctl: $T/missing: cannot read: No such file or directory" "missing file: one clear line"

run classify "$T"
is "$rc:$err" "1:ztierctl: $T: cannot read: Is a directory" "directory: exit 1, one line"

run classify
is "$rc" 2 "no file and no --pid: usage error (2)"
run classify --pid $$ "$T/zero"
is "$rc" 2 "files and --pid together: usage error"
run classify --pid abc
is "$rc" 2 "bad pid: usage error"
run classify --frobnicate "$T/zero"
is "$rc" 2 "unknown option: usage error"
run classify --help
is "$rc" 0 "classify --help: exit 0"
like "$out" '^Usage: ztierctl classify' "classify --help: usage"

done_testing
