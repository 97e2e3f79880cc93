import csv

total = 0
count = 0
with open('data.csv', newline='') as f:
    for row in csv.DictReader(f):
        total += float(row['amount'])
        count += 1
print(f'{count} rows, average {total / max(count, 1):.2f}')
