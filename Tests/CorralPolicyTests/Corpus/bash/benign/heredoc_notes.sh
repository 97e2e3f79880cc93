cat <<EOF
To fetch data later, run curl or wget on your own machine.
This script only prints text.
EOF
echo "sudo is not needed"
