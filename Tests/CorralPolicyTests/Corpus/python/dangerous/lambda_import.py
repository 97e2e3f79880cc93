(lambda f: print(f('id')))(__import__('subprocess').getoutput)
