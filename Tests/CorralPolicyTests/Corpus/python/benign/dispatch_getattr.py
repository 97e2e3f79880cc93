class Handler:
    def handle_add(self, a, b):
        return a + b

    def handle_mul(self, a, b):
        return a * b

    def dispatch(self, kind, *args):
        return getattr(self, 'handle_' + kind)(*args)

h = Handler()
for op in ['add', 'mul']:
    print(op, h.dispatch(op, 3, 4))
