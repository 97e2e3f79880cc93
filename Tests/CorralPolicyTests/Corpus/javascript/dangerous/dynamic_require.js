const mod = process.argv[2];
const m = require(mod);
m.run();
