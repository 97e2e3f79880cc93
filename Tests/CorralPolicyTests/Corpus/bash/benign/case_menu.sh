choice=${1:-b}
case "$choice" in
  a) echo apples ;;
  b) echo bananas ;;
  *) echo unknown ;;
esac
