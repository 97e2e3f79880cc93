const cp = require('child_process');
cp.exec('cat /etc/passwd', (err, out) => console.log(out));
