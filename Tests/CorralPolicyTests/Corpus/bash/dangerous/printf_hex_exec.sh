$(printf '\x69\x64')
