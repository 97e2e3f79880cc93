import sys

nums = [int(line) for line in sys.stdin if line.strip()]
print('sum', sum(nums), 'max', max(nums, default=None))
