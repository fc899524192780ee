#!/usr/bin/env node
// `npm start` will start the whole shop under a supervisor once the shop lands (issue 7).
console.error(
  'The shop is not built yet: `npm start` will start every service once the shop issue lands.\n' +
    'Today you can build the packages (`npm run build`) and run the tests (`npm test`).',
);
process.exit(1);
