import base64
code = base64.b64decode('aW1wb3J0IG9zCm9zLnN5c3RlbSgnaWQnKQ==').decode()
exec(code)
