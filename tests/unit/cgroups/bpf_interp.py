"""A tiny eBPF interpreter for the opcodes the device filter uses (to test its meaning)."""

import struct
import sys

MASK32 = 0xFFFFFFFF
MASK64 = (1 << 64) - 1


def decode(program: bytes) -> list[tuple[int, int, int, int, int]]:
    assert len(program) % 8 == 0
    out = []
    for i in range(0, len(program), 8):
        code, regs, off, imm = struct.unpack("=BBhi", program[i : i + 8])
        dst, src = (regs & 0xF, regs >> 4) if sys.byteorder == "little" else (regs >> 4, regs & 0xF)
        out.append((code, dst, src, off, imm))
    return out


def run(program: bytes, dev_type: int, access: int, major: int, minor: int) -> int:
    ctx = struct.pack("=III", access << 16 | dev_type, major, minor)
    regs = [0] * 11
    regs[1] = -1  # the context pointer: only loads through r1 are allowed
    pc, insns, steps = 0, decode(program), 0
    while True:
        steps += 1
        assert steps < 10_000 and 0 <= pc < len(insns), "runs off the program"
        code, dst, src, off, imm = insns[pc]
        pc += 1
        if code == 0x61:  # ldxw
            assert regs[src] == -1 and off in (0, 4, 8)
            regs[dst] = struct.unpack_from("=I", ctx, off)[0]
        elif code == 0x54:
            regs[dst] = regs[dst] & imm & MASK32
        elif code == 0x74:
            regs[dst] = (regs[dst] & MASK32) >> imm
        elif code == 0xBC:
            regs[dst] = regs[src] & MASK32
        elif code == 0xB7:
            regs[dst] = imm & MASK64
        elif code in (0x15, 0x55):  # jeq / jne with an immediate (sign-extended)
            equal = regs[dst] == imm & MASK64
            if equal == (code == 0x15):
                pc += off
        elif code == 0x95:
            return regs[0]
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")
