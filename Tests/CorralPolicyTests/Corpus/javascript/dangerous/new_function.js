const body = 'return process.env';
const f = new Function(body);
console.log(f());
