import os

base = os.getcwd()
for name in sorted(os.listdir('.')):
    path = os.path.join(base, name)
    kind = 'dir' if os.path.isdir(path) else 'file'
    print(kind, name, os.path.getsize(path))
print(os.environ.get('HOME', '?'))
