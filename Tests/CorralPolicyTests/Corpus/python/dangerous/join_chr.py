import builtins
name = ''.join(map(chr, [101, 118, 97, 108]))
print(getattr(builtins, name)('2 ** 10'))
