"""The cgroup v2 device filter: an eBPF ``BPF_PROG_TYPE_CGROUP_DEVICE`` program, as bytes.

The kernel runs it on every device open/mknod with a ``struct bpf_cgroup_dev_ctx``
(u32 access_type = access << 16 | type, u32 major, u32 minor) in r1; returning
1 allows, 0 denies.  Layout of the program:

    r2 = type, r3 = access, r4 = major, r5 = minor      (prologue)
    one block per exception: on mismatch jump to the next block, else return
    r0 = default; exit                                   (epilogue)

Pure: building the bytes needs no kernel (``ketch.linux.bpf`` loads them).
"""

from ketch.cgroups.devices import WILDCARD, Rule, effective_rules

__all__ = ["ACCESS_BITS", "TYPE_BITS", "device_filter", "encode"]

# struct bpf_cgroup_dev_ctx / BPF_DEVCG_* values
TYPE_BITS = {"b": 1, "c": 2}
ACCESS_BITS = {"m": 1, "r": 2, "w": 4}

# opcodes: class | op | source
_LDX_MEM_W = 0x61  # BPF_LDX | BPF_MEM | BPF_W
_ALU32_AND_K = 0x54
_ALU32_RSH_K = 0x74
_ALU32_MOV_X = 0xBC
_ALU64_MOV_K = 0xB7
_JMP_JEQ_K = 0x15
_JMP_JNE_K = 0x55
_EXIT = 0x95

Insn = tuple[int, int, int, int, int]  # code, dst, src, off, imm


def encode(insns: list[Insn]) -> bytes:
    """``struct bpf_insn`` array in host byte order."""
    import struct
    import sys

    little = sys.byteorder == "little"
    out = bytearray()
    for code, dst, src, off, imm in insns:
        regs = (src << 4 | dst) if little else (dst << 4 | src)
        out += struct.pack("=BBhi", code, regs, off, imm)
    return bytes(out)


def _access_mask(access: str) -> int:
    return sum(ACCESS_BITS[c] for c in access)


def _block(rule: Rule, default_allow: bool) -> list[Insn]:
    """Instructions testing one exception; jumps are fixed up to leave the block."""
    body: list[Insn] = []
    jumps: list[int] = []

    def jump_unless(code: int, reg: int, imm: int) -> None:
        jumps.append(len(body))
        body.append((code, reg, 0, 0, imm))

    jump_unless(_JMP_JNE_K, 2, TYPE_BITS[rule.type])
    mask = _access_mask(rule.access)
    if default_allow:  # a deny exception matches if it covers any of the access asked
        if mask != 0b111:
            body.append((_ALU32_MOV_X, 1, 3, 0, 0))
            body.append((_ALU32_AND_K, 1, 0, 0, mask))
            jump_unless(_JMP_JEQ_K, 1, 0)
    elif mask != 0b111:  # an allow exception matches if it covers all of the access asked
        body.append((_ALU32_MOV_X, 1, 3, 0, 0))
        body.append((_ALU32_AND_K, 1, 0, 0, ~mask & 0b111))
        jump_unless(_JMP_JNE_K, 1, 0)
    if rule.major != WILDCARD:
        jump_unless(_JMP_JNE_K, 4, rule.major)
    if rule.minor != WILDCARD:
        jump_unless(_JMP_JNE_K, 5, rule.minor)
    body.append((_ALU64_MOV_K, 0, 0, 0, 0 if default_allow else 1))
    body.append((_EXIT, 0, 0, 0, 0))
    for i in jumps:
        code, dst, src, _, imm = body[i]
        body[i] = (code, dst, src, len(body) - i - 1, imm)
    return body


def device_filter(rules: "list[Rule] | tuple[Rule, ...]") -> bytes:
    """The program enforcing ``rules`` (applied in order from "deny all", as on v1)."""
    default_allow, exceptions = effective_rules(rules)
    insns: list[Insn] = [
        (_LDX_MEM_W, 2, 1, 0, 0),
        (_ALU32_AND_K, 2, 0, 0, 0xFFFF),
        (_LDX_MEM_W, 3, 1, 0, 0),
        (_ALU32_RSH_K, 3, 0, 0, 16),
        (_LDX_MEM_W, 4, 1, 4, 0),
        (_LDX_MEM_W, 5, 1, 8, 0),
    ]
    for rule in exceptions:
        insns += _block(rule, default_allow)
    insns += [(_ALU64_MOV_K, 0, 0, 0, 1 if default_allow else 0), (_EXIT, 0, 0, 0, 0)]
    return encode(insns)
