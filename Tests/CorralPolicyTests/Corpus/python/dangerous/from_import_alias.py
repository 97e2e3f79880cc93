from os import popen as p
print(p('whoami').read())
