setTimeout('console.log(require("os").userInfo())', 10);
