part = 'ex'
fn = getattr(__builtins__, f'{part}ec')
fn('x = 1')
