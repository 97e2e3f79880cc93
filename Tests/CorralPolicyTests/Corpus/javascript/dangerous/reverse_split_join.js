const n = 'lave'.split('').reverse().join('');
global[n]('1 + 1');
