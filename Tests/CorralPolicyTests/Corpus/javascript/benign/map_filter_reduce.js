const people = [{ name: 'a', age: 31 }, { name: 'b', age: 17 }, { name: 'c', age: 45 }];
const adults = people.filter(p => p.age >= 18).map(p => p.name);
console.log(adults.join(', '));
