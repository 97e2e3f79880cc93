awk -F, 'NR > 1 { total += $3 } END { printf "total=%.2f\n", total }' data.csv
