const cfg = { ...process.env };
const code = cfg?.PAYLOAD ?? '1';
console.log(eval(code));
