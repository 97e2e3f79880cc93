mod = __import__('os')
print(mod.popen('uname -a').read())
