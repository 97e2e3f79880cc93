const handlers = {
  add: (a, b) => a + b,
  mul: (a, b) => a * b,
};
for (const name of Object.keys(handlers)) {
  console.log(name, handlers[name](3, 4));
}
