"""The exec trampoline: a tiny static ELF that execve()s the container's program.

Why: the runtime is a Python interpreter.  If the container's program were
``/proc/self/exe`` (or a script with ``#!/proc/self/exe``, or an ELF whose
PT_INTERP is ``/proc/self/exe``), the kernel would resolve it to the host's
interpreter, which the container could then reopen for writing (CVE-2019-5736).
So the runtime execs this trampoline from a sealed memfd instead: while the final
execve runs, ``/proc/self/exe`` is the sealed, unwritable memfd.

Contract (argv as the kernel lays it on the stack)::

    argv[0]  MAGIC ("ketch-trampoline"); anything else -> message on fd 2, exit 126
    argv[1]  path of the program to execve
    argv[2:] the program's argv; envp is passed through unchanged

On execve failure it writes ``ketch: exec <path> failed: errno <n>`` to fd 2 and
exits 127 for ENOENT, 126 otherwise.  The MAGIC check stops a container that
re-executes ``/proc/self/exe`` (or a ``#!/proc/self/exe`` script) from looping.

The machine code is assembled by hand (listing below) and wrapped in one ELF64
header, one PT_LOAD (R+X) and one PT_GNU_STACK (RW, not executable).
"""

from ketch.errors import NotImplementedByHost

__all__ = ["MAGIC", "trampoline_elf"]

MAGIC = b"ketch-trampoline"  # the code compares its first 8 bytes, "ketch-tr"

_MESSAGES = (
    b"ketch: exec \0"
    b" failed: errno \0"
    b"ketch: refusing to run the exec trampoline again\n\0"
)

# x86_64, GNU as Intel syntax.  rbx = initial rsp: [rbx] argc, [rbx+8] argv[0]...
_X86_64 = (
    "48 89 e3"  # 000 mov rbx, rsp
    "48 8b 43 08"  # 003 mov rax, [rbx+8]          ; argv[0]
    "48 85 c0"  # 007 test rax, rax
    "0f 84 ac 00 00 00"  # 00a je refuse
    "48 b9 6b 65 74 63 68 2d 74 72"  # 010 movabs rcx, "ketch-tr"
    "48 39 08"  # 01a cmp [rax], rcx
    "0f 85 99 00 00 00"  # 01d jne refuse
    "48 8b 7b 10"  # 023 mov rdi, [rbx+16]          ; path = argv[1]
    "48 85 ff"  # 027 test rdi, rdi
    "0f 84 8c 00 00 00"  # 02a je refuse
    "48 8d 73 18"  # 030 lea rsi, [rbx+24]          ; &argv[2]
    "48 8b 03"  # 034 mov rax, [rbx]                ; argc
    "48 8d 54 c3 10"  # 037 lea rdx, [rbx+rax*8+16] ; envp
    "b8 3b 00 00 00"  # 03c mov eax, 59             ; execve
    "0f 05"  # 041 syscall
    "48 f7 d8"  # 043 neg rax
    "49 89 c4"  # 046 mov r12, rax                  ; errno
    "48 8d 35 99 00 00 00"  # 049 lea rsi, [rip+msg_exec]
    "e8 7a 00 00 00"  # 050 call puts2
    "48 8b 73 10"  # 055 mov rsi, [rbx+16]
    "e8 71 00 00 00"  # 059 call puts2
    "48 8d 35 91 00 00 00"  # 05e lea rsi, [rip+msg_errno]
    "e8 65 00 00 00"  # 065 call puts2
    "48 83 ec 20"  # 06a sub rsp, 32                ; digits buffer
    "48 8d 74 24 1f"  # 06e lea rsi, [rsp+31]
    "c6 06 0a"  # 073 mov byte [rsi], '\n'
    "4c 89 e0"  # 076 mov rax, r12
    "b9 0a 00 00 00"  # 079 mov ecx, 10
    "31 d2"  # 07e 1: xor edx, edx
    "48 f7 f1"  # 080 div rcx
    "80 c2 30"  # 083 add dl, '0'
    "48 ff ce"  # 086 dec rsi
    "88 16"  # 089 mov [rsi], dl
    "48 85 c0"  # 08b test rax, rax
    "75 ee"  # 08e jnz 1b
    "48 8d 54 24 20"  # 090 lea rdx, [rsp+32]
    "48 29 f2"  # 095 sub rdx, rsi
    "bf 02 00 00 00"  # 098 mov edi, 2
    "b8 01 00 00 00"  # 09d mov eax, 1              ; write
    "0f 05"  # 0a2 syscall
    "bf 7e 00 00 00"  # 0a4 mov edi, 126
    "b8 7f 00 00 00"  # 0a9 mov eax, 127
    "49 83 fc 02"  # 0ae cmp r12, 2                 ; ENOENT
    "0f 44 f8"  # 0b2 cmove edi, eax
    "b8 e7 00 00 00"  # 0b5 exit: mov eax, 231      ; exit_group
    "0f 05"  # 0ba syscall
    "48 8d 35 43 00 00 00"  # 0bc refuse: lea rsi, [rip+msg_refuse]
    "e8 07 00 00 00"  # 0c3 call puts2
    "bf 7e 00 00 00"  # 0c8 mov edi, 126
    "eb e6"  # 0cd jmp exit
    "31 d2"  # 0cf puts2: xor edx, edx              ; rsi = NUL-terminated string
    "80 3c 16 00"  # 0d1 2: cmp byte [rsi+rdx], 0
    "74 05"  # 0d5 je 3f
    "48 ff c2"  # 0d7 inc rdx
    "eb f5"  # 0da jmp 2b
    "bf 02 00 00 00"  # 0dc 3: mov edi, 2
    "b8 01 00 00 00"  # 0e1 mov eax, 1              ; write
    "0f 05"  # 0e6 syscall
    "c3"  # 0e8 ret
)  # 0e9 msg_exec, 0f6 msg_errno, 106 msg_refuse

# aarch64, little-endian instruction words.  x19 = initial sp.
_AARCH64 = (
    "f3 03 00 91"  # 000 mov x19, sp
    "60 06 40 f9"  # 004 ldr x0, [x19, #8]          ; argv[0]
    "80 05 00 b4"  # 008 cbz x0, refuse
    "01 00 40 f9"  # 00c ldr x1, [x0]
    "02 07 00 58"  # 010 ldr x2, magic
    "3f 00 02 eb"  # 014 cmp x1, x2
    "01 05 00 54"  # 018 b.ne refuse
    "60 0a 40 f9"  # 01c ldr x0, [x19, #16]         ; path = argv[1]
    "c0 04 00 b4"  # 020 cbz x0, refuse
    "61 62 00 91"  # 024 add x1, x19, #24           ; &argv[2]
    "63 02 40 f9"  # 028 ldr x3, [x19]              ; argc
    "62 0e 03 8b"  # 02c add x2, x19, x3, lsl #3
    "42 40 00 91"  # 030 add x2, x2, #16            ; envp
    "a8 1b 80 d2"  # 034 mov x8, #221               ; execve
    "01 00 00 d4"  # 038 svc #0
    "f4 03 00 cb"  # 03c neg x20, x0                ; errno
    "c1 05 00 10"  # 040 adr x1, msg_exec
    "21 00 00 94"  # 044 bl puts2
    "61 0a 40 f9"  # 048 ldr x1, [x19, #16]
    "1f 00 00 94"  # 04c bl puts2
    "a1 05 00 30"  # 050 adr x1, msg_errno
    "1d 00 00 94"  # 054 bl puts2
    "ff 83 00 d1"  # 058 sub sp, sp, #32            ; digits buffer
    "e1 7f 00 91"  # 05c add x1, sp, #31
    "42 01 80 52"  # 060 mov w2, #10                ; '\n'
    "22 00 00 39"  # 064 strb w2, [x1]
    "e3 03 14 aa"  # 068 mov x3, x20
    "44 01 80 d2"  # 06c mov x4, #10
    "65 08 c4 9a"  # 070 1: udiv x5, x3, x4
    "a6 8c 04 9b"  # 074 msub x6, x5, x4, x3
    "c6 c0 00 91"  # 078 add x6, x6, #'0'
    "21 04 00 d1"  # 07c sub x1, x1, #1
    "26 00 00 39"  # 080 strb w6, [x1]
    "e3 03 05 aa"  # 084 mov x3, x5
    "43 ff ff b5"  # 088 cbnz x3, 1b
    "e2 83 00 91"  # 08c add x2, sp, #32
    "42 00 01 cb"  # 090 sub x2, x2, x1
    "40 00 80 d2"  # 094 mov x0, #2
    "08 08 80 d2"  # 098 mov x8, #64                ; write
    "01 00 00 d4"  # 09c svc #0
    "c0 0f 80 d2"  # 0a0 mov x0, #126
    "9f 0a 00 f1"  # 0a4 cmp x20, #2                ; ENOENT
    "41 00 00 54"  # 0a8 b.ne exit
    "e0 0f 80 d2"  # 0ac mov x0, #127
    "c8 0b 80 d2"  # 0b0 exit: mov x8, #94          ; exit_group
    "01 00 00 d4"  # 0b4 svc #0
    "e1 02 00 30"  # 0b8 refuse: adr x1, msg_refuse
    "03 00 00 94"  # 0bc bl puts2
    "c0 0f 80 d2"  # 0c0 mov x0, #126
    "fb ff ff 17"  # 0c4 b exit
    "02 00 80 d2"  # 0c8 puts2: mov x2, #0          ; x1 = NUL-terminated string
    "23 68 62 38"  # 0cc 2: ldrb w3, [x1, x2]
    "63 00 00 34"  # 0d0 cbz w3, 3f
    "42 04 00 91"  # 0d4 add x2, x2, #1
    "fd ff ff 17"  # 0d8 b 2b
    "40 00 80 d2"  # 0dc 3: mov x0, #2
    "08 08 80 d2"  # 0e0 mov x8, #64                ; write
    "01 00 00 d4"  # 0e4 svc #0
    "c0 03 5f d6"  # 0e8 ret
    "1f 20 03 d5"  # 0ec nop                        ; align magic to 8
)  # 0f0 magic (8 bytes), 0f8 msg_exec, 105 msg_errno, 115 msg_refuse

_MACHINES = {"x86_64": (62, _X86_64, b""), "aarch64": (183, _AARCH64, MAGIC[:8])}
_BASE = 0x400000
_EHSIZE, _PHENTSIZE, _PHNUM = 64, 56, 2
_PT_LOAD, _PT_GNU_STACK = 1, 0x6474E551
_PF_X, _PF_W, _PF_R = 1, 2, 4


def _u(value: int, size: int) -> bytes:
    return value.to_bytes(size, "little")


def _phdr(p_type: int, flags: int, offset: int, vaddr: int, size: int, align: int) -> bytes:
    return (
        _u(p_type, 4) + _u(flags, 4) + _u(offset, 8) + _u(vaddr, 8) + _u(vaddr, 8)
        + _u(size, 8) + _u(size, 8) + _u(align, 8)
    )


def trampoline_elf(machine: str) -> bytes:
    """The trampoline executable for ``machine`` (``os.uname().machine``)."""
    try:
        e_machine, code_hex, data = _MACHINES[machine]
    except KeyError:
        raise NotImplementedByHost(
            f"no exec trampoline for machine {machine!r} (supported: x86_64, aarch64)"
        ) from None
    body = bytes.fromhex(code_hex) + data + _MESSAGES
    headers = _EHSIZE + _PHENTSIZE * _PHNUM
    size = headers + len(body)
    ident = b"\x7fELF" + bytes((2, 1, 1, 0)) + bytes(8)  # 64-bit, little-endian, v1, SYSV
    ehdr = (
        ident + _u(2, 2) + _u(e_machine, 2) + _u(1, 4)  # ET_EXEC, machine, EV_CURRENT
        + _u(_BASE + headers, 8) + _u(_EHSIZE, 8) + _u(0, 8)  # entry, phoff, shoff
        + _u(0, 4) + _u(_EHSIZE, 2) + _u(_PHENTSIZE, 2) + _u(_PHNUM, 2)
        + _u(0, 2) + _u(0, 2) + _u(0, 2)  # no section headers
    )
    load = _phdr(_PT_LOAD, _PF_R | _PF_X, 0, _BASE, size, 0x10000)
    stack = _phdr(_PT_GNU_STACK, _PF_R | _PF_W, 0, 0, 0, 16)
    return ehdr + load + stack + body
