const obj = { id: 1, tags: ['x', 'y'], nested: { ok: true } };
const text = JSON.stringify(obj, null, 2);
console.log(text);
console.log(JSON.parse(text).nested.ok);
