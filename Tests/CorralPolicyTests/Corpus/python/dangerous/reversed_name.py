import builtins
getattr(builtins, 'cexe'[::-1])('import os')
