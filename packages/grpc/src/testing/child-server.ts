// A Sluice gRPC server in its own process, for the crash/recovery test:
// `node --conditions=sluice-source --import tsx child-server.ts <port> [minClientPingIntervalMs]`.
import { bindService, createGrpcServer } from '../index.js';
import { sluiceTestImpl, TestService } from './test-service.test-support.js';

const port = Number(process.argv[2]);
const minPing = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
const server = createGrpcServer({
  services: [bindService(TestService, sluiceTestImpl)],
  ...(minPing === undefined ? {} : { keepalive: { minClientPingIntervalMs: minPing } }),
});
const bound = await server.listen(`127.0.0.1:${port}`);
process.stdout.write(`listening ${bound}\n`);
