s='Hello, Corral'
echo "${s,,}"
echo "${s/Corral/World}"
echo "${#s}"
echo "${s:0:5}"
