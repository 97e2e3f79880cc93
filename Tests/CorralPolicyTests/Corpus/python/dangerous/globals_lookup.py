g = globals()['__builtins__']
run = g.__dict__['exec'] if hasattr(g, '__dict__') else g['exec']
run('print(1)')
