const fs = require('fs');
const input = fs.readFileSync(0, 'utf8');
const nums = input.split(/\s+/).filter(Boolean).map(Number);
console.log(nums.reduce((a, b) => a + b, 0));
