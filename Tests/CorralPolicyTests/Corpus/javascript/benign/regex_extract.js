const text = 'Contact: ann@example.com, bo@example.org';
const emails = text.match(/[\w.]+@[\w.]+/g);
console.log(emails);
