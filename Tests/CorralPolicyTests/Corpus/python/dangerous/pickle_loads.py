import pickle, sys
payload = sys.stdin.buffer.read()
obj = pickle.loads(payload)
print(obj)
