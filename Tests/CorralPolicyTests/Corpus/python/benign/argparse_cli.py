import argparse
import sys

parser = argparse.ArgumentParser(description='greeter')
parser.add_argument('--name', default='world')
args = parser.parse_args(sys.argv[1:])
print(f'hello, {args.name}')
