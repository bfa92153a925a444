#!/usr/bin/env python3
"""Measures the size probe's images and checks them against the budget.

For each target: flash and RAM of the probe minus the empty baseline (from
the section sizes), the connection state's size (the `CONNECTION` symbol),
the panic and formatting symbols linked, and a static stack estimate (the
deepest call path from the reset handler, frames read from the prologues).

Usage: report.py --tools DIR --budget FILE [--image NAME] [--set-budget | --no-budget | --brief] TARGET:DIR [TARGET:DIR ...]
where DIR holds the `baseline` ELF file of TARGET and the image measured
against it: `probe` (a full `Connection`, the default) or `tiny` (the tiny
client engine, `--image tiny`). The budget of `probe` on TARGET is the line
`TARGET` of the budget file; that of another image, the line `IMAGE/TARGET`.
"""

import argparse
import os
import re
import struct
import subprocess
import sys

# Sections that occupy flash (`.data` holds its initial values there too) and RAM.
FLASH_SECTIONS = (".vector_table", ".text", ".rodata", ".data", ".gnu.sgstubs")
RAM_SECTIONS = (".data", ".bss", ".uninit")

# Demangled names of the code a panic or a formatted message pulls in.
PANIC_PATTERN = re.compile(
    r"core::panicking|core::fmt|::fmt::|panic|slice_(start_|end_)?index|unwrap_failed|"
    r"expect_failed|len_mismatch_fail|assert_failed|str_index_overflow|core::result::unwrap"
)


def run(tool, *args):
    return subprocess.run([tool, *args], check=True, capture_output=True, text=True).stdout


def section_sizes(tools, elf):
    sizes = {}
    for line in run(os.path.join(tools, "llvm-size"), "-A", elf).splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    flash = sum(sizes.get(s, 0) for s in FLASH_SECTIONS)
    ram = sum(sizes.get(s, 0) for s in RAM_SECTIONS)
    return flash, ram


def symbols(tools, elf):
    """(name, size, type, address) of every defined symbol, demangled."""
    out = []
    for line in run(os.path.join(tools, "llvm-nm"), "-S", "-C", "--defined-only", elf).splitlines():
        m = re.match(r"^([0-9a-f]+) ([0-9a-f]+) (\w) (.*)$", line)
        if m:
            out.append((m.group(4), int(m.group(2), 16), m.group(3), int(m.group(1), 16)))
    return out


def short(name):
    """A demangled name without its hash suffix and escapes."""
    name = re.sub(r"::h[0-9a-f]{16}$", "", name)
    for escape, plain in (("_$LT$", "<"), ("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("..", "::")):
        name = name.replace(escape, plain)
    return name


def module_of(name, image="probe"):
    """The group a code symbol's bytes are counted under."""
    name = short(name)
    if name.startswith("seqlink_core::"):
        # the module path: lower-case components up to a type, an impl or the function's name
        parts = name.split("::")
        path = []
        for part in parts[:-1]:
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", part):
                break
            path.append(part)
        return "::".join(path)
    if name.startswith(image + "::"):
        return image + " (its loop, with the core's code inlined into it)"
    if name.startswith(("compiler_builtins::", "__aeabi", "__")) or "compiler_builtins" in name:
        return "compiler builtins (memcpy, 64-bit division, ...)"
    if name.startswith("core::"):
        return "core"
    if name.startswith("OUTLINED_FUNCTION"):
        return "outlined code (machine outliner)"
    return "runtime (reset, handlers)"


def code_by_module(syms, image):
    groups = {}
    for name, size, kind, _ in syms:
        if kind.lower() == "t":
            group = module_of(name, image)
            groups[group] = groups.get(group, 0) + size
    return sorted(((size, group) for group, size in groups.items()), reverse=True)


# ---- stack estimate ----------------------------------------------------------

FUNC_RE = re.compile(r"^([0-9a-f]+) <(.*)>:$")
TARGET_RE = re.compile(r"^(0x[0-9a-f]+)\b")
LITERAL_RE = re.compile(r"^(r\d+|r1[0-2]|lr|ip), \[pc, #-?0x[0-9a-f]+\]\s+@ (0x[0-9a-f]+)")
REGLIST_RE = re.compile(r"\{([^}]*)\}")


def reg_list_bytes(operands):
    m = REGLIST_RE.search(operands)
    if not m:
        return 0
    total = 0
    for item in m.group(1).split(","):
        item = item.strip()
        width = 8 if item.startswith("d") else 4
        if "-" in item:
            lo, hi = item.split("-")
            total += width * (int(hi.strip()[1:]) - int(lo.strip()[1:]) + 1)
        elif item:
            total += width
    return total


def imm(text):
    m = re.search(r"#(-?0x[0-9a-f]+|-?\d+)", text)
    return int(m.group(1), 0) if m else None


def parse_disassembly(text):
    """Functions in address order: dicts with start, name and instructions."""
    funcs = []
    for line in text.splitlines():
        m = FUNC_RE.match(line)
        if m:
            funcs.append({"start": int(m.group(1), 16), "name": m.group(2), "insns": []})
            continue
        if not funcs or ":" not in line:
            continue
        parts = line.split("\t")
        head = parts[0].strip()
        if not re.match(r"^[0-9a-f]+:", head) or len(parts) < 2:
            continue
        addr = int(head.split(":")[0], 16)
        mnemonic = parts[1].strip()
        operands = parts[2].strip() if len(parts) > 2 else ""
        funcs[-1]["insns"].append((addr, mnemonic, operands))
    return funcs


def analyse_stack(disassembly, root, image="probe"):
    funcs = parse_disassembly(disassembly)
    starts = sorted(f["start"] for f in funcs)
    by_start = {f["start"]: f for f in funcs}

    def containing(addr):
        lo, hi = 0, len(starts) - 1
        found = None
        while lo <= hi:
            mid = (lo + hi) // 2
            if starts[mid] <= addr:
                found = starts[mid]
                lo = mid + 1
            else:
                hi = mid - 1
        return found

    for f in funcs:
        words = {}
        for addr, mnemonic, operands in f["insns"]:
            if mnemonic == ".word":
                words[addr] = int(operands, 16)
        frame, dynamic, indirect, lr_saves = 0, False, False, 0
        callees = set()
        literal = {}
        for addr, mnemonic, operands in f["insns"]:
            base = mnemonic.split(".")[0]
            lm = LITERAL_RE.match(operands)
            if base == "ldr" and lm:
                value = words.get(int(lm.group(2), 16))
                if value is None:
                    # a literal outside the function: read through the objdump of its owner
                    owner = by_start.get(containing(int(lm.group(2), 16)))
                    if owner:
                        for a, mn, op in owner["insns"]:
                            if a == int(lm.group(2), 16) and mn == ".word":
                                value = int(op, 16)
                literal[lm.group(1)] = value
            if base in ("push", "vpush") or (base == "stmdb" and operands.startswith("sp!")):
                frame += reg_list_bytes(operands)
            elif base in ("str", "strd") and re.search(r"\[sp, #-(0x[0-9a-f]+|\d+)\]!", operands):
                frame += -imm(operands.split("[sp,")[1])
                if re.match(r"^lr, \[sp, #-8\]!", operands):
                    # the machine outliner saving LR around a call of outlined
                    # code: real stack, but outside LLVM's frame figure
                    lr_saves += 8
            elif base in ("sub", "subw") and re.match(r"^sp, (sp, )?#", operands):
                frame += imm(operands)
            elif base in ("sub", "add") and re.match(r"^sp, (sp, )?r\d+$", operands):
                reg = operands.split()[-1]
                value = literal.get(reg)
                if value is None:
                    dynamic = True
                else:
                    signed = value - (1 << 32) if value & 0x80000000 else value
                    # only what grows the stack (an epilogue adds the frame back)
                    frame += max(0, -signed if base == "add" else signed)
            if base in ("bl", "blx", "b", "bx") or (base.startswith("b") and len(base) <= 3):
                tm = TARGET_RE.match(operands)
                if tm:
                    # calls and tail calls go to a function's start (a branch
                    # elsewhere is alignment padding decoded as code)
                    target = int(tm.group(1), 16)
                    if target in by_start and target != f["start"]:
                        callees.add(target)
                elif base in ("blx", "bx") and operands not in ("lr",):
                    indirect = True
        # functions whose (Thumb) address this one loads: candidates of indirect calls
        loaded = {v & ~1 for v in words.values() if v & 1 and (v & ~1) in by_start}
        f["frame"], f["dynamic"], f["indirect"], f["callees"], f["loaded"] = frame, dynamic, indirect, callees, loaded
        f["lr_saves"] = lr_saves

    # An indirect call may reach any function whose address the caller loads.
    # Outlined code branches through a register its caller loaded: the
    # caller's candidates count as the caller's callees.
    unresolved = []
    for f in funcs:
        if f["indirect"]:
            f["callees"] |= f["loaded"]
    for f in funcs:
        for callee in list(f["callees"]):
            g = by_start[callee]
            if g["indirect"] and not g["loaded"]:
                f["callees"] |= f["loaded"]
                if not f["loaded"]:
                    unresolved.append(short(g["name"]))

    analyse_stack.funcs = funcs
    analyse_stack.by_start = by_start
    memo = {}
    recursion = []

    def depth(start, active):
        if start in memo:
            return memo[start]
        f = by_start[start]
        best, best_path = 0, []
        for callee in sorted(f["callees"] - {start}):
            if callee in active:
                recursion.append((f["name"], by_start[callee]["name"]))
                continue
            d, p = depth(callee, active | {callee})
            if d > best:
                best, best_path = d, p
        memo[start] = (f["frame"] + best, [start] + best_path)
        return memo[start]

    if root not in by_start:
        raise SystemExit(f"report.py: no function at the reset handler's address {root:#x}")
    total, path = depth(root, {root})
    chain = [("Reset" if s == root else short(by_start[s]["name"]), by_start[s]["frame"]) for s in path]
    # the probe's phases (start, main loop) and the deepest calls below each
    phases = []
    for phase in (image + "::open", image + "::serve"):
        for f in funcs:
            if short(f["name"]) == phase:
                below = sorted(((depth(c, {c})[0], short(by_start[c]["name"])) for c in f["callees"] - {f["start"]}),
                               reverse=True)[:4]
                phases.append((phase, depth(f["start"], {f["start"]})[0], f["frame"], below))
    dynamic = [short(f["name"]) for f in funcs if f["dynamic"]]
    largest = sorted(((f["frame"], short(f["name"])) for f in funcs), reverse=True)[:5]
    return {
        "total": total,
        "chain": chain,
        "largest": largest,
        "phases": phases,
        "recursion": sorted(set((short(a), short(b)) for a, b in recursion)),
        "unresolved": sorted(set(unresolved)),
        "dynamic": dynamic,
    }


def llvm_stack_sizes(elf):
    """{function address: frame bytes} from a `.stack_sizes` section (nightly
    `-Z emit-stack-sizes`), or None when the image has none."""
    with open(elf, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 1:
        return None
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
    headers = [struct.unpack_from("<IIIIII", data, shoff + i * shentsize) for i in range(shnum)]
    names_at = headers[shstrndx][4]
    for name, _, _, _, offset, size in headers:
        label = data[names_at + name:data.index(b"\0", names_at + name)]
        if label == b".stack_sizes":
            sizes, i = {}, offset
            while i < offset + size:
                address, = struct.unpack_from("<I", data, i)
                i += 4
                value, shift = 0, 0
                while True:
                    byte = data[i]
                    i += 1
                    value |= (byte & 0x7F) << shift
                    shift += 7
                    if not byte & 0x80:
                        break
                sizes[address & ~1] = value
            return sizes
    return None


def compare_frames(funcs, sizes):
    agree = sum(1 for f in funcs if sizes.get(f["start"]) == f["frame"] - f["lr_saves"])
    differ = [(short(f["name"]), f["frame"] - f["lr_saves"], sizes[f["start"]]) for f in funcs
              if f["start"] in sizes and sizes[f["start"]] != f["frame"] - f["lr_saves"]]
    return agree, differ


# ---- budget -------------------------------------------------------------------


def read_budget(path):
    budget = {}
    with open(path) as f:
        for line in f:
            line = line.split("#")[0].strip()
            if line:
                target, flash, panics = line.split()
                budget[target] = (int(flash), int(panics))
    return budget


def write_budget(path, measured, old):
    merged = dict(old)
    merged.update(measured)
    with open(path) as f:
        header = [line for line in f if line.startswith("#")]
    with open(path, "w") as f:
        f.writelines(header)
        for target in sorted(merged):
            flash, panics = merged[target]
            f.write(f"{target:<24} {flash:>6} {panics:>3}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True, help="directory with llvm-size, llvm-nm, llvm-objdump")
    ap.add_argument("--budget", required=True)
    ap.add_argument("--image", default="probe", help="the image measured against `baseline`: probe or tiny")
    ap.add_argument("--set-budget", action="store_true", help="write the measured figures as the budget")
    ap.add_argument("--no-budget", action="store_true", help="report without checking the budget")
    ap.add_argument("--brief", action="store_true", help="print only TARGET FLASH RAM per target; no budget check")
    ap.add_argument("builds", nargs="+", help="TARGET:DIR")
    args = ap.parse_args()

    budget = read_budget(args.budget)
    measured = {}
    rows = []
    breakdown = {}
    failures = []
    for spec in args.builds:
        target, directory = spec.split(":", 1)
        key = target if args.image == "probe" else f"{args.image}/{target}"
        probe = os.path.join(directory, args.image)
        baseline = os.path.join(directory, "baseline")
        flash, ram = section_sizes(args.tools, probe)
        base_flash, base_ram = section_sizes(args.tools, baseline)
        if args.brief:
            print(target, flash - base_flash, ram - base_ram)
            continue
        syms = symbols(args.tools, probe)
        state = {short(n): s for n, s, _, _ in syms if short(n) in ("CONNECTION", "LINK_STORAGE")}
        panics = sorted({(short(n), s) for n, s, t, _ in syms if t.lower() == "t" and PANIC_PATTERN.search(n)})
        reset = [a for n, _, t, a in syms if n == "Reset" and t == "T"]
        dis = run(os.path.join(args.tools, "llvm-objdump"), "-d", "--no-show-raw-insn", "-C", probe)
        stack = analyse_stack(dis, reset[0] & ~1 if reset else -1, args.image)
        panic_names = {n for n, _ in panics}
        panic_callers = sorted({short(f["name"]) for f in analyse_stack.funcs
                                if short(f["name"]) not in panic_names
                                and any(short(c["name"]) in panic_names for c in
                                        (analyse_stack.by_start[a] for a in f["callees"]))})
        stack["panic_callers"] = panic_callers
        llvm_sizes = llvm_stack_sizes(probe)
        if llvm_sizes is not None:
            agree, differ = compare_frames(analyse_stack.funcs, llvm_sizes)
            stack["llvm"] = (agree, differ, len(llvm_sizes))
            if differ:
                failures.append(f"{target}: {len(differ)} frames differ from LLVM's .stack_sizes: {differ}")
        added_flash = flash - base_flash
        measured[key] = (added_flash, len(panics))
        rows.append((key, flash, base_flash, added_flash, ram - base_ram, state, stack, panics))
        breakdown[key] = code_by_module(syms, args.image)
        if args.no_budget or args.set_budget:
            pass
        elif key in budget:
            max_flash, max_panics = budget[key]
            if added_flash > max_flash:
                failures.append(f"{key}: flash {added_flash} B over the budget of {max_flash} B")
            if len(panics) > max_panics:
                failures.append(f"{key}: {len(panics)} panic/fmt symbols, budget {max_panics}")
        else:
            failures.append(f"{key}: no budget in {args.budget}")

    if args.brief:
        return 0
    state_label = "`Connection` state" if args.image == "probe" else f"`{args.image}` client state"
    print(f"| target | flash added | flash budget | RAM added | {state_label} | window storage | stack (est.) | panic/fmt symbols |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for target, flash, base_flash, added, ram, state, stack, panics in rows:
        max_flash, max_panics = budget.get(target, ("-", "-"))
        print(
            f"| {target} | {added} B | {max_flash} B | {ram} B | {state.get('CONNECTION', '?')} B "
            f"| {state.get('LINK_STORAGE', '?')} B | {stack['total']} B | {len(panics)} (budget {max_panics}) |"
        )
    for target, flash, base_flash, added, ram, state, stack, panics in rows:
        print(f"\n{target}: {args.image} {flash} B of flash, empty baseline {base_flash} B")
        print("  deepest call path (frame bytes): " + " -> ".join(f"{n} {b}" for n, b in stack["chain"]))
        for phase, total, frame, below in stack["phases"]:
            print(f"  {phase}: {total} B ({frame} B own frame; deepest calls: "
                  + ", ".join(f"{n} {d}" for d, n in below) + ")")
        print("  largest frames: " + ", ".join(f"{n} {b}" for b, n in stack["largest"]))
        if "llvm" in stack:
            agree, differ, known = stack["llvm"]
            print(f"  frames checked against LLVM's .stack_sizes: {agree} of {known} agree, {len(differ)} differ")
        for what in ("recursion", "unresolved", "dynamic"):
            if stack[what]:
                print(f"  {what} (not in the estimate): {stack[what]}")
        print("  code by module (bytes): " + ", ".join(f"{g} {b}" for b, g in breakdown[target]))
        print("  panic/fmt symbols linked: " + (", ".join(f"{n} ({s} B)" for n, s in panics) or "none"))
        if stack["panic_callers"]:
            print("  called from: " + ", ".join(stack["panic_callers"]))

    if args.set_budget:
        write_budget(args.budget, measured, budget)
        print(f"\nbudget written to {args.budget}")
        return 0
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
