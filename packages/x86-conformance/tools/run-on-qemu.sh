#!/usr/bin/env bash
# Developer tool (not CI): build the self-checking conformance programs and run them on real
# emulators used as oracles, to show that the programs' expectations are right before any core
# of ours is judged by them.
#
#   run-on-qemu.sh [--qemu | --bochs | --both] [-v] [PROGRAM...]
#
# --qemu (default) runs QEMU's TCG (apt-get install qemu-system-x86); --bochs runs Bochs
# (apt-get install bochs bochsbios vgabios bochs-term), which unlike TCG checks segment
# limits and null selectors on every access. A test listed for that emulator in
# known-divergences.txt counts as XFAIL when it fails there (and XPASS, a stale entry, when it
# passes). -v prints every program's whole output. Exit status is 0 when nothing failed
# unexpectedly.
set -u

here="$(cd "$(dirname "$0")" && pwd)"
pkg="$(dirname "$here")"
repo="$(cd "$pkg/../.." && pwd)"
divergences="$here/known-divergences.txt"

emulators=(qemu)
verbose=0
programs=()
for arg in "$@"; do
  case "$arg" in
    --qemu) emulators=(qemu) ;;
    --bochs) emulators=(bochs) ;;
    --both) emulators=(qemu bochs) ;;
    -v) verbose=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "run-on-qemu: unknown option $arg (try --help)" >&2; exit 2 ;;
    *) programs+=("$arg") ;;
  esac
done
if [ ${#programs[@]} -eq 0 ]; then
  mapfile -t programs < <(node -e 'for (const i of require(process.argv[1]).images) console.log(i.name)' "$pkg/i386.json")
fi

need() {
  command -v "$1" >/dev/null || { echo "run-on-qemu: '$1' not found; on Debian/Ubuntu: apt-get install -y $2" >&2; exit 2; }
}
for emu in "${emulators[@]}"; do
  case "$emu" in
    qemu) need qemu-system-i386 qemu-system-x86 ;;
    bochs) need bochs "bochs bochsbios vgabios bochs-term"; need script bsdutils ;;
  esac
done

node "$repo/tools/build-i386.mjs" "$pkg" >/dev/null || { echo "run-on-qemu: build failed" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Runs one program on QEMU; writes its console output to $2. QEMU's isa-debug-exit turns the
# program's exit status s into the process status 2*s+1; anything else is a crash (0: triple
# fault with -no-reboot) or the timeout (124).
run_qemu() {
  local prog="$1" out="$2"
  timeout 120 qemu-system-i386 -kernel "$pkg/build/$prog.elf" -m 32 -display none -nodefaults \
    -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 -debugcon "file:$out" \
    </dev/null >"$work/qemu.log" 2>&1
  local rc=$?
  case $rc in
    1|3|5) return 0 ;;
    124) echo "TIMEOUT (no exit-port write within 120 s)" >>"$out" ;;
    0) echo "CRASH (QEMU stopped without an exit-port write: triple fault?)" >>"$out" ;;
    *) echo "CRASH (QEMU exited with $rc: $(tail -1 "$work/qemu.log"))" >>"$out" ;;
  esac
}

# Bochs has no multiboot loader: it loads the flat .bin at 1 MiB and boots bochs-boot.S from a
# floppy, which sets up the multiboot entry state. Bochs's debugger build waits at the first
# instruction for a command (we give it "c" from a file) and needs a terminal for its display
# (script provides one). Bochs does not stop at the exit port, so we stop it once the program
# has printed its SUMMARY or PANIC line.
bochs_boot_ready=0
prepare_bochs() {
  [ $bochs_boot_ready = 1 ] && return 0
  gcc -m32 -c "$here/bochs-boot.S" -o "$work/boot.o" &&
    ld -m elf_i386 -Ttext 0x7C00 --build-id=none -o "$work/boot.elf" "$work/boot.o" &&
    objcopy -O binary -j .text "$work/boot.elf" "$work/floppy.img" &&
    truncate -s 1474560 "$work/floppy.img" || { echo "run-on-qemu: bochs boot sector build failed" >&2; exit 2; }
  echo c >"$work/bochs.cmds"
  bochs_boot_ready=1
}

run_bochs() {
  local prog="$1" out="$2"
  prepare_bochs
  local share="${BXSHARE:-/usr/share/bochs}"
  cat >"$work/bochsrc" <<EOF
megs: 32
romimage: file=$share/BIOS-bochs-latest
vgaromimage: file=$share/VGABIOS-lgpl-latest
floppya: 1_44=$work/floppy.img, status=inserted
boot: floppy
optramimage1: file=$pkg/build/$prog.bin, address=0x100000
port_e9_hack: enabled=1
display_library: term
log: $work/bochs.log
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
clock: sync=none
EOF
  local raw="$work/bochs.raw"
  : >"$raw"
  script -qfec "bochs -q -f $work/bochsrc -rc $work/bochs.cmds 2>$work/bochs.err" /dev/null \
    </dev/null >"$raw" 2>&1 &
  local pid=$! waited=0
  while kill -0 $pid 2>/dev/null; do
    if grep -aq 'SUMMARY \|PANIC ' "$raw"; then break; fi
    sleep 0.2
    waited=$((waited + 1))
    if [ $waited -ge 1500 ]; then echo "TIMEOUT (300 s)" >>"$raw"; break; fi
  done
  kill $pid 2>/dev/null
  wait $pid 2>/dev/null
  # The terminal display adds escape sequences and carriage returns around the debug console.
  sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' "$raw" | tr -d '\r' |
    grep -a -E '^(START|PASS|FAIL|SKIP|SUMMARY|PANIC|TIMEOUT|INFO) ' >"$out"
  grep -q '^SUMMARY \|^PANIC ' "$out" || echo "CRASH (no SUMMARY from Bochs; see its log)" >>"$out"
}

# Whether test "$2" (program/test) is a known divergence of emulator "$1".
known() {
  [ -f "$divergences" ] && grep -Eq "^$1[[:space:]]+$2([[:space:]]|$)" "$divergences"
}

unexpected=0
for emu in "${emulators[@]}"; do
  for prog in "${programs[@]}"; do
    out="$work/$emu-$prog.out"
    : >"$out"
    "run_$emu" "$prog" "$out"
    [ $verbose = 1 ] && sed "s/^/  [$emu] /" "$out"
    pass=0 xfail=0 fail=0 skip=0 xpass=0
    while read -r t; do
      if known "$emu" "$t"; then xpass=$((xpass + 1)); echo "  XPASS $emu $t (listed in known-divergences.txt)"; else pass=$((pass + 1)); fi
    done < <(sed -n 's/^PASS \([^ ]*\).*/\1/p' "$out")
    while read -r t; do
      if known "$emu" "$t"; then xfail=$((xfail + 1)); else fail=$((fail + 1)); grep "^FAIL $t:" "$out" | sed 's/^/  /'; fi
    done < <(sed -n 's/^FAIL \([^:]*\):.*/\1/p' "$out" | sort -u)
    skip=$(grep -c '^SKIP ' "$out")
    grep '^SKIP ' "$out" | sed 's/^/  /'
    broken=$(grep -E '^(PANIC|CRASH|TIMEOUT)' "$out")
    [ -n "$broken" ] && echo "  $broken"
    [ -z "$(grep '^SUMMARY ' "$out")" ] && fail=$((fail + 1))
    printf '%-6s %-11s pass=%-3d xfail=%-3d fail=%-3d skip=%-3d%s\n' "$emu" "$prog" $pass $xfail $fail $skip \
      "$([ $xpass -gt 0 ] && echo " xpass=$xpass")"
    [ $fail -gt 0 ] && unexpected=1
  done
done
exit $unexpected
