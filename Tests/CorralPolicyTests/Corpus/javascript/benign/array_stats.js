const xs = [3, 1, 4, 1, 5, 9, 2, 6];
const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
console.log('mean', mean.toFixed(2), 'max', Math.max(...xs));
