function depth(node) {
  if (!node) return 0;
  return 1 + Math.max(depth(node.left), depth(node.right));
}
const tree = { left: { left: null, right: { left: null, right: null } }, right: null };
console.log(depth(tree));
