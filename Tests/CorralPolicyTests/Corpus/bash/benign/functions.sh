greet() {
  local name="$1"
  echo "Hello, ${name}!"
}
greet world
greet corral
