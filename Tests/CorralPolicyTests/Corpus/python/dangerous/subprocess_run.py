import subprocess
out = subprocess.run(['cat', '/etc/passwd'], capture_output=True)
print(out.stdout)
