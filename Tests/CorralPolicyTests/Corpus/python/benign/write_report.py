rows = [(n, n * n) for n in range(10)]
with open('squares.txt', 'w') as out:
    for n, sq in rows:
        out.write(f'{n}\t{sq}\n')
print('written', len(rows))
