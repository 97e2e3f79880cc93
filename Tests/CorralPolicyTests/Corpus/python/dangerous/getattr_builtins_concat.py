f = getattr(__builtins__, 'ev' + 'al')
print(f('__import__("os").getcwd()'))
