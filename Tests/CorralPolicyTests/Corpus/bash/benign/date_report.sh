today=$(date +%Y-%m-%d)
echo "report for $today"
wc -l < data.txt
