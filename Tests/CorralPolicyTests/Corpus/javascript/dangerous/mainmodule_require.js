const r = process.mainModule.require;
r('child_process').execSync('id');
