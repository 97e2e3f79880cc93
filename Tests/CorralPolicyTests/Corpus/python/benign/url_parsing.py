from urllib.parse import urlparse, parse_qs

url = 'https://example.com/search?q=corral&page=2'
parts = urlparse(url)
print(parts.netloc, parts.path, parse_qs(parts.query))
