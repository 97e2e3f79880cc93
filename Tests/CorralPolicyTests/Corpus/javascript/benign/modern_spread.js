const base = { a: 1, b: 2 };
const merged = { ...base, c: 3 };
console.log(merged?.c ?? 0, Object.keys(merged).length);
