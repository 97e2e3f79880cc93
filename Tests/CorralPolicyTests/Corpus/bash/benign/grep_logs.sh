printf 'GET / curl/8.0\nGET /x Mozilla\n' > /tmp/access.log
grep -c "curl" /tmp/access.log
grep -v 'sudo' /tmp/access.log | wc -l
