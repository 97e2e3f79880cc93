import { execSync as run } from 'child_process';
console.log(run('id').toString());
