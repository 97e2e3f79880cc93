echo '203.0.113.1 bank.example' >> /etc/hosts
