import codecs
os_mod = __import__(codecs.decode('bf', 'rot13'))
getattr(os_mod, codecs.decode('flfgrz', 'rot13'))('id')
