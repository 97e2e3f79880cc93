def countdown(n):
    while n > 0:
        yield n
        n -= 1

print(list(countdown(5)))
squares = (x * x for x in range(10))
print(sum(squares))
