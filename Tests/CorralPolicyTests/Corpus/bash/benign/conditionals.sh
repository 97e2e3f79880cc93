n=${1:-7}
if (( n % 2 == 0 )); then
  echo even
elif [[ $n -gt 5 ]]; then
  echo 'odd and big'
else
  echo odd
fi
