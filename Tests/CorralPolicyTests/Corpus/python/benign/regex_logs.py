import re

LOG = '''2024-01-01 ERROR disk full\n2024-01-02 INFO ok\n2024-01-03 ERROR timeout'''
pattern = re.compile(r'^(\S+) (ERROR|INFO) (.*)$', re.M)
for day, level, msg in pattern.findall(LOG):
    if level == 'ERROR':
        print(day, msg)
