sudo su -c 'id'
