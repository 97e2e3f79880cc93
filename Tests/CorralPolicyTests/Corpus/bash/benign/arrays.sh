fruits=(apple banana cherry)
for f in "${fruits[@]}"; do
  echo "${#f} $f"
done
echo "count: ${#fruits[@]}"
