"""Prints a C initializer for preload/python_boot.py compiled by this
interpreter: { magic, length, bytes }, magic being the pyc magic number as
PyImport_GetMagicNumber() returns it. libweft.so unmarshals the blob that
matches the traced interpreter (0.2 ms) instead of compiling the source
(15 ms on every start of every Python process).

Usage: python3.X preload/boot_blob.py preload/python_boot.py
"""
import importlib._bootstrap_external as ext
import marshal
import sys

with open(sys.argv[1], encoding="utf-8") as f:
    code = compile(f.read(), "<weft>", "exec", dont_inherit=True)
data = marshal.dumps(code)
# The magic number as PyImport_GetMagicNumber() gives it (3.14 dropped
# _RAW_MAGIC_NUMBER; MAGIC_NUMBER is its little-endian bytes in every version).
magic = int.from_bytes(ext.MAGIC_NUMBER, "little")
print("\t{%dL, %d, (const unsigned char[]){" % (magic, len(data)))
for i in range(0, len(data), 24):
    print("\t\t" + ",".join(str(b) for b in data[i : i + 24]) + ",")
print("\t}},")
