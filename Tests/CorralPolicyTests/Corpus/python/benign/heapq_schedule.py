import heapq

tasks = [(3, 'write'), (1, 'plan'), (2, 'code')]
heapq.heapify(tasks)
while tasks:
    prio, name = heapq.heappop(tasks)
    print(prio, name)
