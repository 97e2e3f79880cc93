const d = new Date(Date.UTC(2024, 0, 15));
console.log(d.toISOString().slice(0, 10));
console.log(['Sun','Mon','Tue','Wed','Thu','Fri','Sat'][d.getUTCDay()]);
