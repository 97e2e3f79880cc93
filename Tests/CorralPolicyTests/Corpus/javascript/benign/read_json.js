const fs = require('fs');
const data = JSON.parse(fs.readFileSync('data.json', 'utf8'));
const total = data.items.reduce((sum, it) => sum + it.price * it.qty, 0);
console.log(`Total: ${total}`);
