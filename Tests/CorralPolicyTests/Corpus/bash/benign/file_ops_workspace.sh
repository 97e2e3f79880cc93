mkdir -p out/tmp
cp data.txt out/
ls -la out
rm -rf out/tmp
