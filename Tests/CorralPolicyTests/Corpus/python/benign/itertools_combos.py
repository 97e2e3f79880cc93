from itertools import combinations, permutations

letters = 'abcd'
print(list(combinations(letters, 2)))
print(len(list(permutations(letters))))
