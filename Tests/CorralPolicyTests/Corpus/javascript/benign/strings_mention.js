// This sandbox blocks child_process, eval and fetch.
const notice = 'Do not require(\'child_process\') or call eval() here.';
console.log(notice.length, notice.includes('eval'));
