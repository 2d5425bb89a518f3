#!/usr/bin/env bash
# Boots the guest image natively under QEMU, to hold our emulated PC against a real emulator
# (a developer's check, not CI). The kernel is a multiboot ELF, so -kernel loads it directly;
# its console is COM1 (here on stdio) and it powers off through the ACPI PM1a control port
# at 0x604 that SeaBIOS sets up on QEMU's default i440FX machine, so QEMU exits by itself.
#
#   packages/guest/tools/run-on-qemu.sh [extra qemu args...]
# Needs: qemu-system-i386 (Debian: apt-get install -y qemu-system-x86), and a built image
# (npm run build in packages/guest). Exits 0 if the guest printed its power-off line.
set -euo pipefail
cd "$(dirname "$0")/.."
image=build/guest.elf
[ -f "$image" ] || { echo "no $image: run 'npm run build' in packages/guest first" >&2; exit 1; }
command -v qemu-system-i386 >/dev/null || {
  echo "qemu-system-i386 not found: apt-get install -y qemu-system-x86" >&2
  exit 1
}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# -cpu 486: the kernel is built for i486; -no-reboot: a triple fault ends the run.
timeout 60 qemu-system-i386 -cpu 486 -m 64 -kernel "$image" -append "console=ttyS0 selftest" \
  -display none -serial stdio -monitor none -no-reboot "$@" | tee "$log"
grep -q 'powering off' "$log" || { echo "run-on-qemu: the guest did not reach power-off" >&2; exit 1; }
