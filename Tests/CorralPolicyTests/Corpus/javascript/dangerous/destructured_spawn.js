const { spawn: run } = require('child_process');
run('sh', ['-c', 'id'], { stdio: 'inherit' });
