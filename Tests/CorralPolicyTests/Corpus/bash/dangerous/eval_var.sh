CMD="$1"
eval "$CMD"
