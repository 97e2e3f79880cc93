import os as operating

def go(cmd):
    return operating.system(cmd)

go('id')
