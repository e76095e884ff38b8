# A small DER walker (standard library only) for the command-line tests: the interop checks
# and tampering. lib.sh puts a copy in each test's directory; `der CMD FILE ARGS` runs it.
#
#   elem FILE PATH        the whole element (TLV) at a dotted path of child indexes ("0.1")
#   octets FILE PATH      an OCTET STRING's contents
#   bits FILE PATH        a BIT STRING's contents after the unused-bits octet (which must be 0)
#   offset FILE TEXT      the offset of a UTF-8 string in the file
#   flip FILE OFFSET OUT  the file with the low bit of one byte flipped
#   head FILE N OUT       the first N bytes
import sys

def tlv(b, off):
    tag, n = b[off], b[off + 1]
    hl = 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[off + 2:off + 2 + k], "big")
        hl = 2 + k
    if off + hl + n > len(b):
        raise SystemExit("element past the end")
    return tag, off, hl, n

def child(b, path):
    """The element at a dotted path of child indexes, e.g. "0.1": (tag, offset, hl, len)."""
    tag, off, hl, n = tlv(b, 0)
    for idx in [int(i) for i in path.split(".")]:
        p, end = off + hl, off + hl + n
        for _ in range(idx):
            _, _, h2, n2 = tlv(b, p)
            p += h2 + n2
        if p >= end:
            raise SystemExit("no such child")
        tag, off, hl, n = tlv(b, p)
    return tag, off, hl, n

cmd, path = sys.argv[1], sys.argv[2]
b = open(path, "rb").read()
out = sys.stdout.buffer
if cmd == "elem":      # the whole element (TLV) at a path
    tag, off, hl, n = child(b, sys.argv[3])
    out.write(b[off:off + hl + n])
elif cmd == "octets":  # an OCTET STRING's contents
    tag, off, hl, n = child(b, sys.argv[3])
    assert tag == 0x04, "not an OCTET STRING"
    out.write(b[off + hl:off + hl + n])
elif cmd == "bits":    # a BIT STRING's contents after the unused-bits octet (which must be 0)
    tag, off, hl, n = child(b, sys.argv[3])
    assert tag == 0x03, "not a BIT STRING"
    assert b[off + hl] == 0, "unused bits"
    out.write(b[off + hl + 1:off + hl + n])
elif cmd == "offset":  # offset of a UTF-8 string in the file
    print(b.index(sys.argv[3].encode()))
elif cmd == "flip":    # flip the low bit of the byte at an offset: path offset out
    c = bytearray(b)
    c[int(sys.argv[3])] ^= 1
    open(sys.argv[4], "wb").write(c)
elif cmd == "head":    # the first N bytes: path N out
    open(sys.argv[4], "wb").write(b[:int(sys.argv[3])])
