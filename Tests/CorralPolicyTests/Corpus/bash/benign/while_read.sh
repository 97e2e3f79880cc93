while IFS=, read -r name score; do
  echo "$name scored $score"
done < scores.csv
