const input = process.argv[2] || '1+1';
console.log(eval(input));
