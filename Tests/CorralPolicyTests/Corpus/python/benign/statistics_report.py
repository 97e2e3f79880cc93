import statistics

values = [2.5, 3.1, 4.7, 5.0, 3.3, 2.9]
print('mean', statistics.mean(values))
print('median', statistics.median(values))
print('stdev', round(statistics.stdev(values), 3))
