printf 'alpha beta\ngamma delta\n' > /tmp/in.txt
sed -e 's/beta/BETA/' -e 's/^/> /' /tmp/in.txt
