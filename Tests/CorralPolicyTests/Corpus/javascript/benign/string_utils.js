function titleCase(s) {
  return s.split(' ').map(w => w[0].toUpperCase() + w.slice(1)).join(' ');
}
console.log(titleCase('hello there general kenobi'));
console.log('abc'.padStart(6, '.'));
