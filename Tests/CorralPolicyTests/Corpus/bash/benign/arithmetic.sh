a=12
b=30
echo $(( a * b ))
echo $(( (a + b) / 2 ))
echo "scale=3; 10 / 3" | bc
