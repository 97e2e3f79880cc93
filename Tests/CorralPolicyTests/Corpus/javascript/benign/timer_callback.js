let ticks = 0;
const id = setInterval(() => {
  ticks += 1;
  if (ticks === 3) { clearInterval(id); console.log('done'); }
}, 5);
