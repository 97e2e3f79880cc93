from pathlib import Path

text = Path('notes.txt').read_text()
lines = [l for l in text.splitlines() if l.strip()]
print(len(lines), 'non-empty lines')
Path('summary.txt').write_text(str(len(lines)))
