#!/usr/bin/env python3
"""Runs a command with io_uring refused, as Docker's default seccomp profile does: a seccomp filter that fails
io_uring_setup, io_uring_enter and io_uring_register with EPERM (x86_64 and aarch64 numbers: 425-427 on both) and
allows every other system call; then execs the command, whose threads all inherit the filter.

    without-io-uring.py COMMAND [ARGS...]
"""
import ctypes
import os
import sys

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, EPERM = 0x7fff0000, 0x00050000, 1
BPF_LD_W_ABS, BPF_JEQ_K, BPF_JGE_K, BPF_RET_K = 0x20, 0x15, 0x35, 0x06
IO_URING_FIRST, IO_URING_LAST = 425, 427   # io_uring_setup, io_uring_enter, io_uring_register


class SockFilter(ctypes.Structure):
    _fields_ = [('code', ctypes.c_ushort), ('jt', ctypes.c_ubyte), ('jf', ctypes.c_ubyte), ('k', ctypes.c_uint32)]


class SockFprog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.POINTER(SockFilter))]


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    program = [
        SockFilter(BPF_LD_W_ABS, 0, 0, 0),                          # A = seccomp_data.nr
        SockFilter(BPF_JGE_K, 0, 2, IO_URING_FIRST),                # nr >= 425 ? next : allow
        SockFilter(BPF_JGE_K, 1, 0, IO_URING_LAST + 1),             # nr >= 428 ? allow : refuse
        SockFilter(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM),     # refuse
        SockFilter(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),             # allow
    ]
    filters = (SockFilter * len(program))(*program)
    prog = SockFprog(len(program), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), 'prctl(PR_SET_NO_NEW_PRIVS)')
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), 'prctl(PR_SET_SECCOMP)')
    os.execvp(sys.argv[1], sys.argv[1:])


if __name__ == '__main__':
    sys.exit(main())
