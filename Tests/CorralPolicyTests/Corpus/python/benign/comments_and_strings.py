# Never call os.system or eval() on user input.
BANNED = ['eval', 'exec', 'subprocess', '__import__']
help_text = 'This tool does not use os.system or pickle.loads.'
for word in BANNED:
    print(f'{word} is banned')
print(help_text)
