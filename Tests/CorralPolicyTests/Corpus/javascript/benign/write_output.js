const fs = require('fs');
const lines = [];
for (let i = 1; i <= 5; i++) lines.push(`${i}\t${i * i}`);
fs.writeFileSync('squares.tsv', lines.join('\n'));
console.log('wrote', lines.length);
