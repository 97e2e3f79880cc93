const p = [].constructor.constructor('return process')();
console.log(p.pid);
