#!/usr/bin/env python3
"""Size report of the firmware example (scripts/test-firmware.sh --size).

For each target: flash and static RAM of the firmware (`seqlink-fw-firmware`:
the echo device over smoltcp) and of its baseline (`stack-only`: the same
board, stack and logs with a plain UDP echo), and their difference, the
seqlink part: the core, the echo device, its buffers and its state. Flash
counts .vector_table, .text, .rodata and .data; RAM counts .data, .bss and
.uninit (statics; the stack is not included). Then the serial variant
(`serial`: the same device over UART0 with COBS frames, no IP stack) in full,
and the TinyClient variant (`tiny`: the same device and stack on the small
client engine) with its seqlink part, also against `stack-only`.

Usage: size_report.py TARGET_DIR TARGET [TARGET ...]
"""

import os
import subprocess
import sys

FLASH_SECTIONS = (".vector_table", ".text", ".rodata", ".data")
RAM_SECTIONS = (".data", ".bss", ".uninit")


def llvm_size():
    host = next(line.split(": ")[1] for line in subprocess.run(
        ["rustc", "-vV"], check=True, capture_output=True, text=True).stdout.splitlines()
        if line.startswith("host: "))
    sysroot = subprocess.run(["rustc", "--print", "sysroot"], check=True, capture_output=True,
                             text=True).stdout.strip()
    tool = os.path.join(sysroot, "lib", "rustlib", host, "bin", "llvm-size")
    if not os.path.exists(tool):
        sys.exit("size_report: llvm-tools not installed (rustup component add llvm-tools)")
    return tool


def flash_and_ram(tool, elf):
    sizes = {}
    for line in subprocess.run([tool, "-A", elf], check=True, capture_output=True, text=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sum(sizes.get(s, 0) for s in FLASH_SECTIONS), sum(sizes.get(s, 0) for s in RAM_SECTIONS)


def main():
    target_dir, targets = sys.argv[1], sys.argv[2:]
    tool = llvm_size()
    print("| target | firmware flash | firmware RAM | stack-only flash | stack-only RAM | seqlink part flash | seqlink part RAM |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for target in targets:
        release = os.path.join(target_dir, target, "release")
        flash, ram = flash_and_ram(tool, os.path.join(release, "seqlink-fw-firmware"))
        base_flash, base_ram = flash_and_ram(tool, os.path.join(release, "stack-only"))
        print(f"| {target} | {flash:,} B | {ram:,} B | {base_flash:,} B | {base_ram:,} B "
              f"| {flash - base_flash:,} B | {ram - base_ram:,} B |")
    print()
    print("| target | serial firmware flash | serial firmware RAM |")
    print("|---|---:|---:|")
    for target in targets:
        flash, ram = flash_and_ram(tool, os.path.join(target_dir, target, "release", "serial"))
        print(f"| {target} | {flash:,} B | {ram:,} B |")
    print()
    print("| target | tiny firmware flash | tiny firmware RAM | seqlink part flash | seqlink part RAM |")
    print("|---|---:|---:|---:|---:|")
    for target in targets:
        release = os.path.join(target_dir, target, "release")
        flash, ram = flash_and_ram(tool, os.path.join(release, "tiny"))
        base_flash, base_ram = flash_and_ram(tool, os.path.join(release, "stack-only"))
        print(f"| {target} | {flash:,} B | {ram:,} B | {flash - base_flash:,} B | {ram - base_ram:,} B |")


if __name__ == "__main__":
    main()
