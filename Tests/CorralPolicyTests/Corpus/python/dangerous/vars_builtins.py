import builtins
vars(builtins)['exec']('import os')
